"""One error taxonomy per side.

HTTP: raise a `ServiceError`, by its name where the status is fixed (`NotFound`, `Conflict`,
`Forbidden`, ...); one handler renders `{"error": {"code", "message", "details"}}` with its status.
A pure module may raise them too (notify's task transitions): the route has nothing to translate.
Consumers: `RetryableError` means back off and try the batch again; anything a handler raises
that is not retryable is treated as a poison record (bounded tries, then the dead-letter topic).
"""

from __future__ import annotations

from typing import Any, ClassVar


class ServiceError(Exception):
    """A failed request: `status` and a stable, machine-readable `code` for the client."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}


class _Named(ServiceError):
    STATUS: ClassVar[int]
    CODE: ClassVar[str]

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(self.STATUS, code or self.CODE, message, details, headers)


class BadRequest(_Named):
    STATUS, CODE = 400, "bad_request"


class Unauthenticated(_Named):
    STATUS, CODE = 401, "unauthenticated"


class Forbidden(_Named):
    STATUS, CODE = 403, "forbidden"


class NotFound(_Named):
    STATUS, CODE = 404, "not_found"


class Conflict(_Named):
    STATUS, CODE = 409, "conflict"


class Unprocessable(_Named):
    """The request is well-formed but cannot be done as asked (an invalid value or range)."""

    STATUS, CODE = 422, "invalid_request"


class TooManyRequests(_Named):
    STATUS, CODE = 429, "rate_limited"


class RetryableError(Exception):
    """A transient failure (database or broker unavailable): retry the batch later."""


class PoisonRecordError(Exception):
    """A record that can never be processed (undecodable or invalid)."""
