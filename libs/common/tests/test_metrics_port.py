"""`/metrics` is not on the public API port: each service serves it on its own internal port,
and tenants appear in its labels only as a hash (issue 14, finding 9)."""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from anbefal.common import metrics
from anbefal.common.app import create_service_app
from anbefal.common.settings import BaseServiceSettings
from anbefal.devstack.testing import free_port


def app_and_port() -> tuple[object, int]:
    port = free_port()
    settings = BaseServiceSettings(
        jwt_secret=SecretStr("m" * 40),
        kafka_bootstrap=f"127.0.0.1:{free_port()}",  # nothing there: the producer waits
        metrics_port=port,
    )
    app = create_service_app(
        name="ingest", title="Metrics test", description="", settings=settings, routers=[]
    )
    return app, port


async def test_metrics_are_served_on_the_internal_port_only() -> None:
    app, port = app_and_port()
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")  # type: ignore[arg-type]
    async with app.router.lifespan_context(app), api, httpx.AsyncClient() as internal:  # type: ignore[attr-defined]
        assert (await api.get("/healthz")).status_code == 200
        assert (await api.get("/metrics")).status_code == 404
        scraped = await internal.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200
        assert "anbefal_http_requests_total" in scraped.text
        # Only metrics there: not the API, not its docs.
        assert (await internal.get(f"http://127.0.0.1:{port}/docs")).status_code == 404
    # Stopped with the service.
    async with httpx.AsyncClient() as internal:
        try:
            await internal.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
            raise AssertionError("the metrics port still answers after shutdown")
        except httpx.ConnectError:
            pass


def test_a_tenant_is_labelled_by_a_stable_hash_not_its_name() -> None:
    label = metrics.tenant_label("acme-corp")
    assert "acme" not in label
    assert label == metrics.tenant_label("acme-corp") != metrics.tenant_label("other")
    assert len(label) == 12
