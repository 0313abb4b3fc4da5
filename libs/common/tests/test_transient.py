"""Which failures are the infrastructure's (consumers retry them, HTTP APIs answer 503) and which
are the record's (dead letters) or a bug (500): a full disk must never dead-letter a batch, and
every service's API answers it 503 with Retry-After."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import SecretStr
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from anbefal.common.app import create_service_app
from anbefal.common.errors import PoisonRecordError, RetryableError
from anbefal.common.settings import BaseServiceSettings
from anbefal.common.transient import is_transient


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
    assert is_transient(db_error(orig))


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
    assert not is_transient(db_error(orig))


def test_other_failures() -> None:
    assert is_transient(OSError("connection reset"))
    assert is_transient(TimeoutError())
    # The pool had no free connection in time: retried, never pinned on a record.
    assert is_transient(PoolTimeoutError("QueuePool limit reached"))
    assert is_transient(RetryableError("dead-letter topic unavailable"))
    assert not is_transient(PoisonRecordError("score 11"))
    assert not is_transient(ValueError("bad"))


def failing_app(exc: Exception) -> FastAPI:
    router = APIRouter()

    @router.get("/fail")
    async def fail() -> None:
        raise exc

    return create_service_app(
        name="transient-test",
        title="t",
        description="t",
        settings=BaseServiceSettings(jwt_secret=SecretStr("s" * 40)),
        routers=[router],
    )


async def get_fail(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/fail")


@pytest.mark.parametrize(
    "exc",
    [
        db_error(asyncpg.exceptions.DiskFullError("could not extend file")),
        db_error(asyncpg.exceptions.TooManyConnectionsError("too many clients already")),
        db_error(asyncpg.exceptions.SerializationError("could not serialize access")),
        OSError("connection refused"),
        PoolTimeoutError("QueuePool limit reached"),
        RetryableError("the broker is unavailable"),
    ],
)
async def test_every_service_answers_a_transient_failure_503(exc: Exception) -> None:
    response = await get_fail(failing_app(exc))
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json()["error"]["code"] == "unavailable"


async def test_a_failure_of_the_request_stays_a_500() -> None:
    exc = db_error(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    response = await get_fail(failing_app(exc))
    assert response.status_code == 500
