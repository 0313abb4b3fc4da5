"""Which failures the consumer loop retries (the infrastructure's) and which it pins on the
record (dead letters): a full disk must never dead-letter a batch."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from anbefal.common.errors import PoisonRecordError
from anbefal.common.kafka import is_retryable


def db_error(orig: Exception) -> DBAPIError:
    return DBAPIError("INSERT ...", None, orig)


@pytest.mark.parametrize(
    "orig",
    [
        asyncpg.exceptions.DiskFullError("could not extend file: No space left on device"),
        asyncpg.exceptions.OutOfMemoryError("out of memory"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients already"),
        asyncpg.exceptions.PostgresIOError("could not read block"),
        asyncpg.exceptions.ConnectionFailureError("connection failure"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    ],
)
def test_the_servers_failures_are_retried(orig: Exception) -> None:
    assert is_retryable(db_error(orig))


@pytest.mark.parametrize(
    "orig",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.NotNullViolationError("null value"),
        asyncpg.exceptions.InvalidTextRepresentationError("invalid input syntax"),
        asyncpg.exceptions.StringDataRightTruncationError("value too long"),
    ],
)
def test_the_records_failures_are_not(orig: Exception) -> None:
    assert not is_retryable(db_error(orig))


def test_other_failures() -> None:
    assert is_retryable(OSError("connection reset"))
    assert is_retryable(TimeoutError())
    assert not is_retryable(PoisonRecordError("score 11"))
    assert not is_retryable(ValueError("bad"))
