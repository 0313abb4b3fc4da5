"""The shared service app: factory and lifespan, error rendering, health and metrics."""

from anbefal.common.app.errors import (
    RETRY_AFTER_S,
    error_body,
    unavailable_response,
    validation_details,
)
from anbefal.common.app.factory import create_service_app
from anbefal.common.app.health import health_router
from anbefal.common.app.runtime import Runtime, ScrapeFn, Wiring, WorkerFn, service_consumer

__all__ = [
    "RETRY_AFTER_S",
    "Runtime",
    "ScrapeFn",
    "Wiring",
    "WorkerFn",
    "create_service_app",
    "error_body",
    "health_router",
    "service_consumer",
    "unavailable_response",
    "validation_details",
]
