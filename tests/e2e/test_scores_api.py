"""The scores API over a real scoring process: windows, significance, eNPS anonymity."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import Respondent, Source, SurveyResponse, response_event_id
from anbefal.common.kafka import Publisher
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, caught_up, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
TODAY = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def answer(
    tenant: str, n: int, kind: str, score: int, days_ago: int, **segments: str
) -> SurveyResponse:
    rid = f"{kind}-{n}"
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", rid),
        version=1,
        tenant=tenant,
        kind=kind,  # type: ignore[arg-type]
        score=score,
        answered_at=TODAY - timedelta(days=days_ago),
        received_at=TODAY,
        source=Source(tool="api", response_id=rid),
        respondent=Respondent(key=f"p-{n}"),
        segments=segments,
    )


@pytest.fixture
async def scores(stack: Any) -> AsyncIterator[httpx.AsyncClient]:
    tenant = f"s-{uuid.uuid4().hex[:8]}"
    url = stack.new_database()
    env = stack.service_env(url)
    scoring = ServiceProcess("scoring", env, stack.root / "logs").start()
    answers = (
        # NPS: 20 detractors 40-50 days ago, 20 promoters in the last 30 days.
        [answer(tenant, i, "nps", 2, 35 + i % 10) for i in range(20)]
        + [answer(tenant, 100 + i, "nps", 10, i % 10) for i in range(20)]
        # eNPS: department ops = teams red (8) + blue (4); department dev = team green (14).
        + [answer(tenant, 200 + i, "enps", 9, 1, department="ops", team="red") for i in range(8)]
        + [answer(tenant, 300 + i, "enps", 3, 1, department="ops", team="blue") for i in range(4)]
        + [answer(tenant, 400 + i, "enps", 8, 1, department="dev", team="green") for i in range(12)]
        + [answer(tenant, 500 + i, "enps", 5, 1, department="dev", team="green") for i in range(2)]
    )
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="scores-test")
    await publisher.start()
    try:
        await scoring.wait_ready()
        await publisher.wait_ready(30)
        await publisher.send_many(topics.RESPONSES, [(a.key, a.to_bytes(), None) for a in answers])
        group = f"{env['ANBEFAL_GROUP_PREFIX']}-scoring"

        async def done() -> bool:
            return await caught_up(stack.kafka.bootstrap, url, "scoring", group, [topics.RESPONSES])

        await wait_until(done, 60, "scoring caught up")
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="director", sub="d")
        async with httpx.AsyncClient(
            base_url=f"{scoring.url}/v1/tenants/{tenant}",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            yield client
    finally:
        await publisher.stop()
        scoring.stop()


async def test_windows_significance_timeseries_and_anonymity(scores: httpx.AsyncClient) -> None:
    r = await scores.get("/scores", params={"window": "30d"})
    assert r.status_code == 200, r.text
    (seg,) = r.json()["segments"]
    assert (seg["n"], seg["nps"], seg["previous_nps"]) == (20, 100.0, -100.0)
    assert seg["significant_change"] is True

    first = (TODAY - timedelta(days=44)).date()
    last = (TODAY - timedelta(days=35)).date()
    r = await scores.get("/scores", params={"from": first.isoformat(), "to": last.isoformat()})
    body = r.json()
    assert body["window"]["name"] == "custom"
    assert (body["segments"][0]["n"], body["segments"][0]["nps"]) == (20, -100.0)
    assert (await scores.get("/scores", params={"from": first.isoformat()})).status_code == 422
    r = await scores.get("/scores", params={"from": last.isoformat(), "to": first.isoformat()})
    assert r.json()["error"]["code"] == "invalid_range"

    r = await scores.get(
        "/scores/timeseries",
        params={
            "from": (TODAY - timedelta(days=60)).date().isoformat(),
            "to": TODAY.date().isoformat(),
            "interval": "month",
        },
    )
    points = r.json()["points"]
    assert sum(p["n"] for p in points) == 40
    assert all(date.fromisoformat(p["period_start"]).day == 1 for p in points)

    # eNPS by team: blue (4 people) is hidden, and with it the next smallest (red), since
    # otherwise "all minus the shown teams" would describe blue's 4 people.
    r = await scores.get("/scores", params={"kind": "enps", "dimension": "team", "sort": "value"})
    teams = {s["value"]: s for s in r.json()["segments"]}
    assert teams["blue"]["suppressed"] is True
    assert teams["blue"]["n"] is None
    assert teams["red"]["suppressed"] is True
    assert teams["green"]["n"] == 14
    # Department ops (12) minus team red (hidden) cannot reveal blue.
    r = await scores.get("/scores", params={"kind": "enps", "dimension": "department"})
    departments = {s["value"]: s["n"] for s in r.json()["segments"]}
    assert departments == {"ops": 12, "dev": 14}
