"""The webhook POST is a bare Starlette route; its OpenAPI entry must still say what it does."""

from __future__ import annotations

import pytest

from anbefal.devstack.testing import TEST_JWT_SECRET
from anbefal.ingest.main import create_app
from anbefal.ingest.settings import IngestSettings
from anbefal.ingest.webhooks.routes import WEBHOOK_PATH, webhook_route


@pytest.fixture
def app_schema() -> dict:  # type: ignore[type-arg]
    app = create_app(IngestSettings(jwt_secret=TEST_JWT_SECRET))
    # Served first: FastAPI's routes are never consulted for this POST.
    assert app.router.routes[0] is webhook_route
    return app.openapi()


def test_webhook_post_is_documented_with_its_parameters_and_statuses(app_schema: dict) -> None:  # type: ignore[type-arg]
    operations = app_schema["paths"][WEBHOOK_PATH]
    assert {"get", "head", "post"} <= set(operations)
    post = operations["post"]
    assert post["operationId"] == "post_webhook_v1_webhooks__tenant___source__post"
    assert [p["name"] for p in post["parameters"]] == ["tenant", "source"]
    assert all(p["in"] == "path" and p["schema"]["pattern"] for p in post["parameters"])
    assert {"202", "200", "401", "413", "422", "429", "503"} <= set(post["responses"])


def test_request_models_stay_in_the_components(app_schema: dict) -> None:  # type: ignore[type-arg]
    assert {"ResponseIn", "BatchIn"} <= set(app_schema["components"]["schemas"])
