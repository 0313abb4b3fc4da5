"""The scores API over a real scoring process: windows, significance, CSV, eNPS anonymity
(a team of 4, department minus one team, before/after one new answer) and the throttled
`anbefal.scores.v1` events."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from anbefal.common import topics
from anbefal.common.auth import Scope, issue_token, parse_scope
from anbefal.common.events import (
    Respondent,
    ScoresChanged,
    Source,
    SurveyResponse,
    TenantSettings,
    decode,
    response_event_id,
)
from anbefal.common.kafka import Publisher
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    asyncpg_dsn,
    caught_up,
    end_offsets,
    wait_until,
)
from anbefal.scoring.settings import ScoringSettings

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
# Noon of today where the tenants count their days (scoring's default time zone): from 23:00
# UTC in winter, Copenhagen's today is already UTC's tomorrow.
TODAY = datetime.now(ZoneInfo(ScoringSettings.model_fields["default_time_zone"].default)).replace(
    hour=12, minute=0, second=0, microsecond=0
)
K = 5  # the default anonymity threshold
EVENT_INTERVAL_S = 3.0


def answer(
    tenant: str, n: int, kind: str, score: int, days_ago: int, **segments: str
) -> SurveyResponse:
    return answer_at(tenant, n, kind, score, TODAY - timedelta(days=days_ago), **segments)


def answer_at(
    tenant: str, n: int, kind: str, score: int, at: datetime, **segments: str
) -> SurveyResponse:
    rid = f"{kind}-{n}"
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", rid),
        version=1,
        tenant=tenant,
        kind=kind,  # type: ignore[arg-type]
        score=score,
        answered_at=at,
        received_at=TODAY,
        source=Source(tool="api", response_id=rid),
        respondent=Respondent(key=f"p-{n}"),
        segments=segments,
    )


def team(tenant: str, start: int, size: int, score: int, **segments: str) -> list[SurveyResponse]:
    """eNPS answers of today: all in the current month, the open cell of the eNPS grid."""
    return [answer(tenant, start + i, "enps", score, 0, **segments) for i in range(size)]


def month_name(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


@dataclass
class Scoring:
    process: ServiceProcess
    database_url: str
    group: str
    bootstrap: str
    publisher: Publisher

    async def _count(self, sql: str, tenant: str) -> int:
        conn = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            return int(await conn.fetchval(sql, tenant))
        finally:
            await conn.close()

    async def settled(self, tenant: str) -> bool:
        """Every answer consumed, every changed segment looked at, every event relayed."""
        if not await caught_up(
            self.bootstrap, self.database_url, "scoring", self.group, [topics.RESPONSES]
        ):
            return False
        dirty = await self._count(
            "SELECT count(*) FROM scoring.segment_state "
            "WHERE tenant = $1 AND dirty_since IS NOT NULL",
            tenant,
        )
        unsent = await self._count(
            "SELECT count(*) FROM scoring.outbox WHERE tenant = $1 AND published_at IS NULL",
            tenant,
        )
        return dirty == 0 and unsent == 0

    async def send(self, answers: list[SurveyResponse]) -> None:
        """Publish answers and wait until scoring has consumed and published what follows."""
        await self.publisher.send_many(
            topics.RESPONSES, [(a.key, a.to_bytes(), None) for a in answers]
        )
        tenant = answers[0].tenant

        async def settled() -> bool:
            return await self.settled(tenant)

        await wait_until(settled, 90, f"scoring settled for {tenant}")

    async def set_anonymity_k(self, tenant: str, k: int) -> None:
        """Publish the tenant's settings with another k and wait until scoring has them."""
        settings = TenantSettings(
            tenant=tenant, display_name=tenant, anonymity_k=k, updated_at=datetime.now(UTC)
        )
        await self.publisher.send(topics.TENANTS, settings.to_bytes(), key=settings.key)

        async def stored() -> bool:
            sql = "SELECT count(*) FROM scoring.tenants WHERE tenant = $1 AND anonymity_k = %d"
            return await self._count(sql % k, tenant) == 1

        await wait_until(stored, 60, f"k={k} stored for {tenant}")

    def client(self, tenant: str, scope: Scope = ()) -> httpx.AsyncClient:
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="director", sub="d", scope=scope)
        return httpx.AsyncClient(
            base_url=f"{self.process.url}/v1/tenants/{tenant}",
            headers={"Authorization": f"Bearer {token}"},
        )

    async def events(self, tenant: str) -> list[ScoresChanged]:
        """Every `anbefal.scores.v1` event of the tenant so far, by segment, oldest first."""
        ends = await end_offsets(self.bootstrap, [topics.SCORES])
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        found: list[ScoresChanged] = []
        try:
            partitions = [TopicPartition(t, p) for (t, p), end in ends.items() if end > 0]
            if not partitions:
                return []
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            remaining = set(partitions)
            while remaining:
                batches = await consumer.getmany(timeout_ms=1000)
                for tp, records in batches.items():
                    for record in records:
                        if record.key and record.key.startswith(f"{tenant}:".encode()):
                            found.append(decode(ScoresChanged, record.value))
                    if records and records[-1].offset + 1 >= ends[(tp.topic, tp.partition)]:
                        remaining.discard(tp)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
        # Partitions arrive in any order; within a key, the sequence is the order.
        return sorted(found, key=lambda e: (e.kind, e.dimension, e.value, e.sequence))


@pytest.fixture(scope="module")
async def scoring(stack: Any) -> AsyncIterator[Scoring]:
    url = stack.new_database()
    env = stack.service_env(
        url,
        ANBEFAL_SCORES_EVENT_INTERVAL_S=str(EVENT_INTERVAL_S),
        ANBEFAL_SCORES_POLL_S="0.2",
        ANBEFAL_RELAY_POLL_S="0.2",
    )
    process = ServiceProcess("scoring", env, stack.root / "logs").start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="scores-test")
    await publisher.start()
    try:
        await process.wait_ready()
        await publisher.wait_ready(30)
        yield Scoring(
            process=process,
            database_url=url,
            group=f"{env['ANBEFAL_GROUP_PREFIX']}-scoring",
            bootstrap=stack.kafka.bootstrap,
            publisher=publisher,
        )
    finally:
        await publisher.stop()
        process.stop()


def new_tenant() -> str:
    return f"s-{uuid.uuid4().hex[:8]}"


async def test_windows_significance_timeseries_and_anonymity(scoring: Scoring) -> None:
    tenant = new_tenant()
    await scoring.send(
        # NPS: 20 detractors 35-44 days ago, 20 promoters in the last 10 days.
        [answer(tenant, i, "nps", 2, 35 + i % 10) for i in range(20)]
        + [answer(tenant, 100 + i, "nps", 10, i % 10) for i in range(20)]
        # eNPS: department ops = teams red (8) + blue (4); department dev = team green (14).
        + team(tenant, 200, 8, 9, department="ops", team="red")
        + team(tenant, 300, 4, 3, department="ops", team="blue")
        + team(tenant, 400, 12, 8, department="dev", team="green")
        + team(tenant, 500, 2, 5, department="dev", team="green")
    )
    async with scoring.client(tenant) as scores:
        r = await scores.get("/scores", params={"window": "30d"})
        assert r.status_code == 200, r.text
        assert r.json()["segments"], scoring.process.log_tail(80)
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

        # eNPS by team: blue (4 people) never had k answers, so its block was never published
        # and none of its answers is in any figure: red, ops and the total are 8, 8 and 22,
        # and no difference of them says anything about blue.
        r = await scores.get(
            "/scores", params={"kind": "enps", "dimension": "team", "sort": "value"}
        )
        body = r.json()
        assert body["window"]["cell"] == month_name(TODAY.date())
        assert body["window"]["closed"] is False
        teams = {s["value"]: s for s in body["segments"]}
        assert {v: s["n"] for v, s in teams.items() if not s["suppressed"]} == {
            "red": 8,
            "green": 14,
        }
        # Blue is listed as answered but waiting for k changes, with no count.
        assert (teams["blue"]["n"], teams["blue"]["suppressed_reason"]) == (
            None,
            "awaiting_changes",
        )
        r = await scores.get("/scores", params={"kind": "enps", "dimension": "department"})
        departments = {s["value"]: s["n"] for s in r.json()["segments"]}
        assert departments == {"ops": 8, "dev": 14}

        # The CSV export has the same rows.
        r = await scores.get(
            "/scores", params={"kind": "enps", "dimension": "team", "format": "csv"}
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        rows = {row["value"]: row for row in csv.DictReader(io.StringIO(r.text))}
        assert set(rows) == set(teams)
        assert (rows["red"]["suppressed"], rows["red"]["n"]) == ("false", "8")
        green = teams["green"]
        assert (rows["green"]["n"], float(rows["green"]["nps"])) == ("14", green["nps"])
        assert float(rows["green"]["interval_low"]) == green["interval"]["low"]
        by_accept = await scores.get(
            "/scores",
            params={"kind": "enps", "dimension": "team"},
            headers={"Accept": "text/csv"},
        )
        assert by_accept.text == r.text

    async with httpx.AsyncClient(base_url=scoring.process.url) as client:
        spec = (await client.get("/openapi.json")).json()
    content = spec["paths"]["/v1/tenants/{tenant}/scores"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv"} <= set(content)


async def test_department_minus_one_team_never_singles_out_fewer_than_k(
    scoring: Scoring,
) -> None:
    tenant = new_tenant()
    # ops = red (8) + blue (3); dev = green (14) + yellow (6). "ops minus red" would be blue's 3.
    composition = {
        ("ops", "red"): 8,
        ("ops", "blue"): 3,
        ("dev", "green"): 14,
        ("dev", "yellow"): 6,
    }
    answers: list[SurveyResponse] = []
    for i, ((department, name), size) in enumerate(composition.items()):
        answers += team(tenant, 100 * i, size, 9 - i, department=department, team=name)
    await scoring.send(answers)

    async with scoring.client(tenant) as scores:
        shown: dict[str, dict[str, int]] = {}
        for dimension in ("all", "department", "team"):
            r = await scores.get("/scores", params={"kind": "enps", "dimension": dimension})
            assert r.status_code == 200, r.text
            shown[dimension] = {
                s["value"]: s["n"] for s in r.json()["segments"] if not s["suppressed"]
            }
    # Blue's block (3 answers, fewer than k) is published nowhere: not in ops, not in the total.
    assert shown["all"] == {"all": 28}
    assert shown["department"] == {"ops": 8, "dev": 20}
    assert shown["team"] == {"red": 8, "green": 14, "yellow": 6}
    # A department minus a shown team inside it is never 1..k-1 people.
    for department, name in composition:
        if name in shown["team"]:
            apart = shown["department"][department] - shown["team"][name]
            assert not 0 < apart < K, (department, name, apart)

    # The events say the same, and nothing of blue.
    latest = {(e.dimension, e.value): e for e in await scoring.events(tenant)}
    assert ("team", "blue") not in latest
    assert (latest[("team", "red")].n, latest[("department", "ops")].n) == (8, 8)
    assert latest[("team", "green")].n == 14
    assert latest[("department", "dev")].n == 20
    assert latest[("department", "dev")].cell == month_name(TODAY.date())


async def test_enps_does_not_move_for_one_new_answer(scoring: Scoring) -> None:
    tenant = new_tenant()
    await scoring.send(team(tenant, 0, 10, 9, team="green"))
    params = {"kind": "enps", "dimension": "team"}
    series = {
        "kind": "enps",
        "dimension": "team",
        "value": "green",
        "interval": "month",
        "from": (TODAY - timedelta(days=7)).date().isoformat(),
        "to": TODAY.date().isoformat(),
    }
    async with scoring.client(tenant) as scores:
        before_body = (await scores.get("/scores", params=params)).json()
        before = before_body["segments"]
        before_series = (await scores.get("/scores/timeseries", params=series)).json()
        assert [s["n"] for s in before] == [10]
        events_before = await scoring.events(tenant)

        # One new answer, a detractor: comparing before and after would reveal it.
        await scoring.send(team(tenant, 100, 1, 0, team="green"))
        after_body = (await scores.get("/scores", params=params)).json()
        assert after_body["segments"] == before
        assert after_body["window"]["as_of"] == before_body["window"]["as_of"] is not None
        assert (await scores.get("/scores/timeseries", params=series)).json() == before_series
        assert await scoring.events(tenant) == events_before  # nothing moved, nothing said

        # k new answers in all: now the figure moves, by all of them at once.
        await scoring.send(team(tenant, 200, K - 1, 0, team="green"))
        moved_body = (await scores.get("/scores", params=params)).json()
        moved = moved_body["segments"]
        assert [(s["n"], s["detractors"]) for s in moved] == [(10 + K, K)]
        assert moved_body["window"]["as_of"] > before_body["window"]["as_of"]
    latest = {(e.dimension, e.value): e for e in await scoring.events(tenant)}
    assert (latest[("team", "green")].n, latest[("all", "all")].n) == (10 + K, 10 + K)


async def test_score_events_are_throttled_and_end_with_the_final_figures(
    scoring: Scoring,
) -> None:
    tenant = new_tenant()
    # Four bursts a second apart into one store: without a throttle, four events or more.
    for burst in range(4):
        await scoring.publisher.send_many(
            topics.RESPONSES,
            [
                (a.key, a.to_bytes(), None)
                for a in [
                    answer(tenant, 10 * burst + i, "nps", 10, 0, store="aarhus") for i in range(10)
                ]
            ],
        )
        await wait_until(
            lambda: caught_up(
                scoring.bootstrap,
                scoring.database_url,
                "scoring",
                scoring.group,
                [topics.RESPONSES],
            ),
            60,
            "burst consumed",
        )
        await asyncio.sleep(1.0)  # pacing the bursts a second apart, not awaiting a result

    async def settled() -> bool:
        return await scoring.settled(tenant)

    await wait_until(settled, 90, "scoring settled")
    events = [e for e in await scoring.events(tenant) if e.dimension == "store"]
    assert events, "no event for the store"
    assert events[-1].n == 40  # the last event carries every answer: nothing was dropped
    assert len(events) < 4
    times = [e.computed_at for e in events]
    assert all(b - a >= timedelta(seconds=EVENT_INTERVAL_S) for a, b in pairwise(times))
    assert [e.sequence for e in events] == sorted({e.sequence for e in events})


async def test_enps_has_no_custom_range_or_day_series_to_difference(scoring: Scoring) -> None:
    """Two custom ranges a day apart (or two day points) would single out the one employee
    who answered on the second day; eNPS figures exist only as whole grid cells."""
    tenant = new_tenant()
    first, second = (TODAY - timedelta(days=2)).date(), (TODAY - timedelta(days=1)).date()
    await scoring.send(
        [answer(tenant, i, "enps", 9, 2) for i in range(4)]
        + [answer(tenant, 10 + i, "enps", 7, 2) for i in range(2)]
        + [answer(tenant, 20, "enps", 0, 1)]  # the one detractor, alone on the second day
    )
    async with scoring.client(tenant) as scores:
        for last in (first, second):
            r = await scores.get(
                "/scores",
                params={"kind": "enps", "from": first.isoformat(), "to": last.isoformat()},
            )
            assert r.status_code == 422, r.text
            error = r.json()["error"]
            assert error["code"] == "enps_grid"
            assert "month" in error["message"]
            assert "quarter" in error["message"]
        for params in ({"window": "30d"}, {"window": "7d"}):
            r = await scores.get("/scores", params={"kind": "enps", **params})
            assert (r.status_code, r.json()["error"]["code"]) == (422, "enps_grid")
        for interval in ("day", "week"):
            r = await scores.get(
                "/scores/timeseries",
                params={
                    "kind": "enps",
                    "interval": interval,
                    "from": first.isoformat(),
                    "to": second.isoformat(),
                },
            )
            assert (r.status_code, r.json()["error"]["code"]) == (422, "enps_grid"), r.text

        # What a reader gets instead: whole months, the same figures in the API and the series.
        cells = sorted({month_name(first), month_name(second)})
        shown = {}
        for cell in cells:
            r = await scores.get("/scores", params={"kind": "enps", "period": cell})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["window"]["cell"] == cell
            shown[cell] = body["segments"][0]["n"] if body["segments"] else None
        assert sum(n or 0 for n in shown.values()) in (0, 7)  # never 6 beside 7
        r = await scores.get(
            "/scores/timeseries",
            params={
                "kind": "enps",
                "interval": "month",
                "from": first.isoformat(),
                "to": second.isoformat(),
            },
        )
        assert r.status_code == 200, r.text
        points = {
            month_name(date.fromisoformat(p["period_start"])): p["n"] for p in r.json()["points"]
        }
        assert {c: points.get(c) for c in cells} == shown


async def test_previous_nps_never_shows_what_its_own_period_hides(scoring: Scoring) -> None:
    tenant = new_tenant()
    this_month = TODAY.date().replace(day=1)
    last_of_previous = datetime.combine(
        this_month - timedelta(days=1), TODAY.timetz()
    )  # noon in the tenant's time zone
    # Last month: department a (8 promoters) and b (5 detractors), both shown at k = 5.
    await scoring.send(
        [answer_at(tenant, i, "enps", 10, last_of_previous, department="a") for i in range(8)]
        + [answer_at(tenant, 20 + i, "enps", 1, last_of_previous, department="b") for i in range(5)]
    )
    # The tenant raises k to 6: last month's b is now too small, and a shown would give b away
    # as "all minus a".
    await scoring.set_anonymity_k(tenant, 6)
    await scoring.send(team(tenant, 100, 10, 8, department="a"))
    async with scoring.client(tenant) as scores:
        r = await scores.get(
            "/scores", params={"kind": "enps", "dimension": "department", "window": "month"}
        )
        assert r.status_code == 200, r.text
        a = {s["value"]: s for s in r.json()["segments"]}["a"]
        assert (a["value"], a["n"], a["suppressed"]) == ("a", 10, False)
        assert a["previous_nps"] is None  # not a's hidden 100.0
        assert a["significant_change"] is None
        assert a["previous_suppressed_reason"] == "protects_other_segment"

        # The previous cell's own breakdown hides the same, and says why.
        r = await scores.get(
            "/scores",
            params={
                "kind": "enps",
                "dimension": "department",
                "period": month_name(last_of_previous.date()),
            },
        )
        assert r.status_code == 200, r.text
        before = {s["value"]: s for s in r.json()["segments"]}
        assert before["a"]["suppressed"] is True
        assert before["a"]["n"] is None
        assert before["a"]["suppressed_reason"] == "protects_other_segment"
        assert before["b"]["suppressed_reason"] == "too_few"


async def test_an_enps_answer_moved_by_a_later_version_counts_once(scoring: Scoring) -> None:
    tenant = new_tenant()
    red = team(tenant, 0, 5, 9, team="red")
    await scoring.send(red)
    # Three of red's answers come again as team blue, beside two new blue answers: five changes
    # of blue's block, three of red's.
    moved = [a.model_copy(update={"version": 2, "segments": {"team": "blue"}}) for a in red[:3]]
    await scoring.send(moved + team(tenant, 100, 2, 9, team="blue"))
    shown: dict[str, dict[str, int]] = {}
    async with scoring.client(tenant) as scores:
        for dimension in ("all", "team"):
            r = await scores.get("/scores", params={"kind": "enps", "dimension": dimension})
            assert r.status_code == 200, r.text
            shown[dimension] = {
                s["value"]: s["n"] for s in r.json()["segments"] if not s["suppressed"]
            }
    # Seven people answered: no figure counts one of them twice.
    assert shown["all"]["all"] <= 7
    assert sum(shown["team"].values()) <= shown["all"]["all"]


async def test_an_unknown_dimension_is_refused_naming_the_known_ones(scoring: Scoring) -> None:
    tenant = new_tenant()
    await scoring.send(
        [answer(tenant, 1, "nps", 9, 3, department="Support", country="SE")]
        + team(tenant, 10, K, 9, department="Support")
    )
    async with scoring.client(tenant) as scores:
        for path, params in (
            ("/scores", {"dimension": "departement"}),
            ("/scores", {"dimension": "departement", "kind": "enps"}),
            ("/scores/timeseries", {"dimension": "departement", "value": "Support"}),
        ):
            if path.endswith("timeseries"):
                params |= {"from": (TODAY - timedelta(days=9)).date().isoformat()}
                params |= {"to": TODAY.date().isoformat()}
            r = await scores.get(path, params=params)
            assert r.status_code == 422, r.text
            error = r.json()["error"]
            assert error["code"] == "unknown_dimension"
            assert "'departement'" in error["message"]
            assert "country, department" in error["message"]
            assert error["details"] == [
                {"field": "dimension", "allowed": ["all", "country", "department"]}
            ]
        # A known dimension without answers in the window is no error: no segments.
        r = await scores.get("/scores", params={"dimension": "country", "window": "1d"})
        assert (r.status_code, r.json()["segments"]) == (200, [])


async def test_several_dimensions_filter_at_once(scoring: Scoring) -> None:
    tenant = new_tenant()
    await scoring.send(
        [answer(tenant, i, "nps", 10, 1, department="Support", country="SE") for i in range(3)]
        + [answer(tenant, 10 + i, "nps", 2, 2, department="Support", country="DK")
           for i in range(2)]
        + [answer(tenant, 20 + i, "nps", 3, 2, department="Sales", country="SE")
           for i in range(4)]
        # The previous 30 days: one Support/SE detractor.
        + [answer(tenant, 30, "nps", 0, 40, department="Support", country="SE")]
    )  # fmt: skip
    async with scoring.client(tenant) as scores:
        r = await scores.get(
            "/scores", params=[("filter", "department:Support"), ("filter", "country:SE")]
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["filters"] == ["country:SE", "department:Support"]
        (seg,) = body["segments"]
        assert (seg["value"], seg["n"], seg["nps"]) == ("all", 3, 100.0)
        assert (seg["previous_n"], seg["previous_nps"], seg["change"]) == (1, -100.0, 200.0)

        r = await scores.get("/scores", params={"filter": "country:SE", "dimension": "department"})
        assert {s["value"]: s["n"] for s in r.json()["segments"]} == {"Support": 3, "Sales": 4}
        r = await scores.get(
            "/scores",
            params=[("filter", "country:SE"), ("filter", "country:DK"),
                    ("filter", "department:Support"), ("format", "csv")],
        )  # fmt: skip
        (row,) = csv.DictReader(io.StringIO(r.text))
        assert (row["value"], row["n"]) == ("all", "5")

        r = await scores.get(
            "/scores/timeseries",
            params=[("filter", "department:Support"), ("filter", "country:SE"),
                    ("from", (TODAY - timedelta(days=60)).date().isoformat()),
                    ("to", TODAY.date().isoformat()), ("interval", "month")],
        )  # fmt: skip
        assert r.status_code == 200, r.text
        assert sum(p["n"] for p in r.json()["points"]) == 4

        r = await scores.get("/scores", params={"filter": "department"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_filter")
        # eNPS figures are whole grid cells by one dimension: an intersection of two would
        # differ from the segments shown by a few people.
        r = await scores.get("/scores", params={"filter": "country:SE", "kind": "enps"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "enps_filter")

    async with httpx.AsyncClient(base_url=scoring.process.url) as client:
        spec = (await client.get("/openapi.json")).json()
    params = {
        p["name"]: p for p in spec["paths"]["/v1/tenants/{tenant}/scores"]["get"]["parameters"]
    }
    assert "department:Support" in params["filter"]["description"]


async def test_calendar_windows_compare_with_the_whole_previous_period(scoring: Scoring) -> None:
    tenant = new_tenant()
    this_month = TODAY.date().replace(day=1)
    previous_last = this_month - timedelta(days=1)
    previous_first = previous_last.replace(day=1)
    noon = TODAY.timetz()
    await scoring.send(
        [answer_at(tenant, 1, "nps", 0, datetime.combine(previous_first, noon)),
         answer_at(tenant, 2, "nps", 0, datetime.combine(previous_last, noon)),
         answer_at(tenant, 3, "nps", 10, TODAY)]
    )  # fmt: skip
    async with scoring.client(tenant) as scores:
        r = await scores.get("/scores", params={"window": "month"})
        assert r.status_code == 200, r.text
        window = r.json()["window"]
        assert (window["first_day"], window["last_day"]) == (
            this_month.isoformat(),
            TODAY.date().isoformat(),
        )
        (seg,) = r.json()["segments"]
        assert (seg["previous_first_day"], seg["previous_last_day"]) == (
            previous_first.isoformat(),
            previous_last.isoformat(),
        )
        assert (seg["n"], seg["previous_n"], seg["change"]) == (1, 2, 200.0)

        r = await scores.get("/scores", params={"window": "7d"})
        (seg,) = r.json()["segments"]
        assert seg["previous_first_day"] == (TODAY - timedelta(days=13)).date().isoformat()
        assert seg["previous_last_day"] == (TODAY - timedelta(days=7)).date().isoformat()

        r = await scores.get("/scores", params={"window": "year"})
        assert r.status_code == 200, r.text
        (seg,) = r.json()["segments"]
        assert seg["previous_first_day"] == f"{TODAY.year - 1}-01-01"
        assert seg["previous_last_day"] == f"{TODAY.year - 1}-12-31"


async def test_hidden_segments_say_why_and_every_answer_says_as_of(scoring: Scoring) -> None:
    tenant = new_tenant()
    await scoring.send(
        team(tenant, 0, 6, 9, team="Alpha")
        + team(tenant, 100, 7, 3, team="Beta")
        + team(tenant, 200, 5, 8, team="Gamma")
    )
    await scoring.set_anonymity_k(tenant, 6)
    # Delta's two answers change its block twice: fewer than k changes, so never published.
    await scoring.send(team(tenant, 300, 2, 10, team="Delta"))
    started = datetime.now(UTC)
    async with scoring.client(tenant) as scores:
        r = await scores.get("/scores", params={"kind": "enps", "dimension": "team"})
        assert r.status_code == 200, r.text
        body = r.json()
        teams = {s["value"]: s for s in body["segments"]}
        assert teams["Beta"]["n"] == 7
        # Gamma: 5 < k; Alpha: shown, it would give Gamma away as "all minus Alpha and Beta";
        # Delta: answered, but not yet k changes. A team nobody in answered is not listed.
        reasons = {v: s["suppressed_reason"] for v, s in teams.items() if s["suppressed"]}
        assert reasons == {
            "Gamma": "too_few", "Alpha": "protects_other_segment", "Delta": "awaiting_changes",
        }  # fmt: skip
        for value in reasons:
            assert all(teams[value][f] is None for f in ("n", "nps", "promoters", "previous_n"))
        as_of = datetime.fromisoformat(body["as_of"])
        assert as_of == datetime.fromisoformat(body["window"]["as_of"])
        assert as_of <= started

        r = await scores.get(
            "/scores", params={"kind": "enps", "dimension": "team", "format": "csv"}
        )
        rows = {row["value"]: row for row in csv.DictReader(io.StringIO(r.text))}
        assert rows["Delta"]["suppressed_reason"] == "awaiting_changes"
        assert {datetime.fromisoformat(row["as_of"]) for row in rows.values()} == {as_of}

        # NPS figures count every stored answer: as of the read.
        r = await scores.get("/scores")
        assert started <= datetime.fromisoformat(r.json()["as_of"]) <= datetime.now(UTC)
        r = await scores.get(
            "/scores/timeseries",
            params={"from": TODAY.date().isoformat(), "to": TODAY.date().isoformat()},
        )
        assert started <= datetime.fromisoformat(r.json()["as_of"])


async def test_a_team_lead_reads_only_figures_inside_their_scope(scoring: Scoring) -> None:
    tenant = new_tenant()
    await scoring.send(
        [answer(tenant, i, "nps", 10, 1, team="Alpha", country="SE") for i in range(3)]
        + [answer(tenant, 10 + i, "nps", 1, 1, team="Beta", country="SE") for i in range(2)]
        + team(tenant, 100, 6, 9, team="Alpha")
        + team(tenant, 200, 7, 3, team="Beta")
        + team(tenant, 300, 5, 8, team="Gamma")
    )
    async with scoring.client(tenant, parse_scope("team=Alpha")) as lead:
        r = await lead.get("/scores")
        assert r.status_code == 200, r.text
        assert r.json()["filters"] == ["team:Alpha"]
        assert [(s["value"], s["n"]) for s in r.json()["segments"]] == [("all", 3)]
        r = await lead.get("/scores", params={"dimension": "country"})
        assert [(s["value"], s["n"]) for s in r.json()["segments"]] == [("SE", 3)]
        r = await lead.get("/scores", params={"dimension": "team"})
        assert [(s["value"], s["n"]) for s in r.json()["segments"]] == [("Alpha", 3)]
        r = await lead.get(
            "/scores/timeseries",
            params={"from": (TODAY - timedelta(days=7)).date().isoformat(),
                    "to": TODAY.date().isoformat()},
        )  # fmt: skip
        assert sum(p["n"] for p in r.json()["points"]) == 3

        r = await lead.get("/scores", params={"filter": "team:Beta"})
        assert r.status_code == 403, r.text
        assert "team=Beta is outside your scope (team=Alpha)" in r.json()["error"]["message"]
        r = await lead.get(
            "/scores/timeseries",
            params={"dimension": "team", "value": "Beta", "from": TODAY.date().isoformat(),
                    "to": TODAY.date().isoformat()},
        )  # fmt: skip
        assert r.status_code == 403, r.text

        r = await lead.get("/scores", params={"kind": "enps"})
        assert [(s["value"], s["n"]) for s in r.json()["segments"]] == [("all", 6)]

    # With k = 6, Gamma (5) is hidden and the tenant-wide breakdown hides Alpha to protect it:
    # Alpha's lead gets no more than any reader, so their total is hidden too.
    await scoring.set_anonymity_k(tenant, 6)
    async with scoring.client(tenant, parse_scope("team=Alpha")) as lead:
        r = await lead.get("/scores", params={"kind": "enps"})
        (seg,) = r.json()["segments"]
        assert (seg["suppressed"], seg["n"]) == (True, None)
        assert seg["suppressed_reason"] == "protects_other_segment"
    async with scoring.client(tenant, parse_scope("team=Beta")) as lead:
        r = await lead.get("/scores", params={"kind": "enps", "dimension": "team"})
        assert [(s["value"], s["n"]) for s in r.json()["segments"]] == [("Beta", 7)]
