"""`anbefal status` reads health on the API port and the figures on the metrics port."""

from __future__ import annotations

import httpx

from anbefal.cli.status import fetch_status

METRICS = """# TYPE anbefal_consumer_lag gauge
anbefal_consumer_lag{group="g",topic="t",partition="0"} 3.0
# TYPE anbefal_dead_letters_pending gauge
anbefal_dead_letters_pending{group="g"} 2.0
# TYPE anbefal_sla_breaches_total counter
anbefal_sla_breaches_total{tenant="abc"} 4.0
"""


def handler(request: httpx.Request) -> httpx.Response:
    if request.url.host == "api" and request.url.path == "/healthz":
        return httpx.Response(200, json={"status": "ok"})
    if request.url.host == "api" and request.url.path == "/readyz":
        return httpx.Response(200, json={"status": "ready", "checks": {"kafka": True}})
    if request.url.host == "internal" and request.url.path == "/metrics":
        return httpx.Response(200, text=METRICS)
    return httpx.Response(404)


async def test_status_reads_the_figures_from_the_internal_metrics_port() -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        status = await fetch_status(client, "notify", "http://api", "http://internal")
    assert (status.healthy, status.ready) == (True, True)
    assert (status.lag, status.dlq) == (3, 2)
    # The process's breach counter (since start, all tenants) is no figure of now: the
    # tenants' table has the open breaches.
    assert status.problems == ["2 dead letters (anbefal dlq list --service notify)"]
