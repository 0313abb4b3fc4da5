"""Which failures are the infrastructure's (try again later) and which are the request's or the
record's own: the one classifier behind the consumer loop's retries, the background workers'
logs and the HTTP APIs' 503s.

A transient failure is retried by a consumer (never dead-lettered) and answered 503 with
Retry-After by an HTTP handler; anything else is the record's fault (dead letter) or a bug (500).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from anbefal.common.errors import RetryableError

# The exception types that can be transient; `is_transient` decides for each instance (a
# DBAPIError is transient only for some SQLSTATEs). HTTP apps register their 503 handler on these.
CANDIDATE_TYPES: tuple[type[Exception], ...] = (
    RetryableError,
    DBAPIError,
    PoolTimeoutError,
    OSError,
    TimeoutError,
)

# SQLSTATEs that say the server, not the record, is at fault: serialization failure, deadlock,
# admin shutdown, cannot connect now, and whole classes: 08 connection exceptions, 53
# insufficient resources (disk full, out of memory, too many connections), 58 system errors
# (I/O). Read as the record's fault, a full disk would dead-letter every record of a batch.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03"})
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "58")


def is_transient(exc: BaseException) -> bool:
    """True for failures of the infrastructure (retry later), False for the caller's own."""
    if isinstance(
        exc,
        RetryableError
        | OSError
        | TimeoutError
        | PoolTimeoutError
        | OperationalError
        | InterfaceError,
    ):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(code, str) and is_transient_sqlstate(code)
    return False


def is_transient_sqlstate(code: str) -> bool:
    return code in _TRANSIENT_SQLSTATES or code.startswith(_TRANSIENT_SQLSTATE_CLASSES)
