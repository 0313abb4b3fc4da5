"""How every service renders a failed request: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from anbefal.common.errors import ServiceError
from anbefal.common.logging import get_logger
from anbefal.common.transient import CANDIDATE_TYPES, is_transient

log = get_logger(__name__)

# What a client is told to wait before retrying a request the service could not serve now.
RETRY_AFTER_S = 5


def unavailable_response(
    message: str, code: str = "unavailable", retry_after_s: int = RETRY_AFTER_S
) -> JSONResponse:
    """503 with Retry-After: nothing was done, send the request again later."""
    return JSONResponse(error_body(code, message), 503, headers={"Retry-After": str(retry_after_s)})


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic errors as `{"field": "respondent.email", "message": ..., "type": ...}`."""
    details = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        details.append(
            {
                "field": ".".join(loc) or "(body)",
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
        )
    return details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body(
                "invalid_request",
                "request parameters are invalid",
                validation_details(exc.errors()),
            ),
            422,
        )

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(f"http_{exc.status_code}", str(exc.detail)),
            exc.status_code,
            headers=exc.headers,
        )

    for candidate in CANDIDATE_TYPES:
        app.add_exception_handler(candidate, transient_error_handler)


async def transient_error_handler(_: Request, exc: Exception) -> Response:
    """A transient failure (PostgreSQL unreachable, slow past the engine's timeouts, its disk
    full, ...) is a 503 with Retry-After: clients and survey tools retry it. Anything else
    goes on to the server's 500."""
    if not is_transient(exc):
        raise exc
    log.warning("database unavailable; answered 503", error=repr(exc))
    return unavailable_response("the database is unavailable; retry later")
