"""One error taxonomy per side.

HTTP: raise `ServiceError`; one handler renders `{"error": {"code", "message", "details"}}`.
Consumers: `RetryableError` means back off and try the batch again; anything a handler raises
that is not retryable is treated as a poison record (bounded tries, then the dead-letter topic).
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
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


class RetryableError(Exception):
    """A transient failure (database or broker unavailable): retry the batch later."""


class PoisonRecordError(Exception):
    """A record that can never be processed (undecodable or invalid)."""
