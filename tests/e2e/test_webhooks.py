"""Survey-tool webhooks through a real ingest process into the real Kafka broker: one test per
tool with its realistic, correctly signed payload; tampering, stale timestamps, unknown sources,
oversized bodies and the rate limit; thin webhooks fetched from a local fake of the tool's API;
kept bodies replayed after the source is fixed; the same answer delivered three times
counted once by scoring and routed once by closed_loop; the CLI; and the documented Google Forms
Apps Script, run under Node.js with stand-ins for the Apps Script services, posting to ingest."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.devstack import surveytools as tools
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    asyncpg_dsn,
    caught_up,
    end_offsets,
    wait_until,
)
from anbefal.ingest.schemas import Accepted

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SECRET = "e2e-signing-secret-of-at-least-32-chars"


class Ingest:
    def __init__(
        self,
        stack: Any,
        processes: dict[str, ServiceProcess],
        env: dict[str, str],
        api: tools.FakeToolApi | None = None,
    ):
        self.stack = stack
        self.processes = processes
        self.env = env
        self.url = processes["ingest"].url
        self.api = api

    def admin(self, tenant: str) -> dict[str, str]:
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="e2e-admin")
        return {"Authorization": f"Bearer {token}"}

    async def add_source(self, tenant: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url, headers=self.admin(tenant)) as client:
            r = await client.put(f"/v1/tenants/{tenant}/sources/{name}", json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def post(self, tenant: str, name: str, signed: tools.Signed) -> httpx.Response:
        url = f"{self.url}/v1/webhooks/{tenant}/{name}" + (
            f"?{signed.query}" if signed.query else ""
        )
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, content=signed.body, headers=signed.headers)

    async def rejected(self, tenant: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.url, headers=self.admin(tenant)) as client:
            r = await client.get(f"/v1/tenants/{tenant}/rejected")
        assert r.status_code == 200, r.text
        return list(r.json()["rejected"])

    async def unverified(self, tenant: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.url, headers=self.admin(tenant)) as client:
            r = await client.get(f"/v1/tenants/{tenant}/unverified-deliveries")
        assert r.status_code == 200, r.text
        return list(r.json()["unverified"])


async def records(bootstrap: str, topic: str, tenant: str) -> list[dict[str, Any]]:
    """Every record of `tenant` on `topic`, read from the beginning to the current end."""
    ends = await end_offsets(bootstrap, [topic])
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        from aiokafka.structs import TopicPartition

        partitions = [TopicPartition(t, p) for (t, p), end in ends.items() if end > 0]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = set(partitions)
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batch.items():
                for message in messages:
                    # The suite's broker also carries other tests' records, poison included.
                    try:
                        value = json.loads(message.value or b"")
                    except ValueError:
                        value = None
                    if isinstance(value, dict) and value.get("tenant") == tenant:
                        found.append(value)
                    if message.offset + 1 >= ends[(tp.topic, tp.partition)]:
                        remaining.discard(tp)
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()
    return found


@pytest.fixture(scope="module")
async def ingest(stack: Any) -> AsyncIterator[Ingest]:
    # The tools' API fake stands in for every vendor host: an operator-only setting.
    api = tools.FakeToolApi(token="api-token").start()
    env = stack.service_env(
        stack.new_database(),
        ANBEFAL_INGEST_FETCH_POLL_S="0.2",
        ANBEFAL_INGEST_FETCH_BACKOFF_S="0.2",
        # A Qualtrics answer not readable yet is asked for again for this long (minutes in
        # production).
        ANBEFAL_INGEST_FETCH_NOT_FOUND_GRACE_S="1.5",
        ANBEFAL_INGEST_VENDOR_API_OVERRIDE=api.url,
        # The fuzz test sends hundreds of unsigned requests from one address.
        ANBEFAL_INGEST_UNVERIFIED_BURST="5000",
    )
    processes = {
        s: ServiceProcess(s, env, stack.root / "logs").start()
        for s in ("ingest", "scoring", "closed-loop")
    }
    try:
        for process in processes.values():
            await process.wait_ready()
        yield Ingest(stack, processes, env, api)
    finally:
        for process in processes.values():
            process.stop()
        api.stop()


def new_tenant() -> str:
    return f"wh-{uuid.uuid4().hex[:10]}"


async def events_for(ingest: Ingest, tenant: str, count: int) -> list[dict[str, Any]]:
    """Wait until `count` answers of `tenant` are in Kafka; returns them."""
    found: list[dict[str, Any]] = []

    async def enough() -> bool:
        nonlocal found
        found = await records(ingest.stack.kafka.bootstrap, topics.RESPONSES, tenant)
        return len(found) >= count

    await wait_until(enough, 30, f"{count} answers of {tenant} in Kafka")
    return found


TYPEFORM_SOURCE = {
    "tool": "typeform",
    "secret": SECRET,
    "fields": {
        "score": "nps",
        "comment": "why",
        "respondent": {"id": "customer_id"},
        "segments": {"department": "department"},
    },
}


async def test_typeform_signed_tampered_duplicate_and_unknown_source(ingest: Ingest) -> None:
    tenant = new_tenant()
    shown = await ingest.add_source(tenant, "typeform", TYPEFORM_SOURCE)
    assert SECRET not in json.dumps(shown)
    assert shown["webhook_path"] == f"/v1/webhooks/{tenant}/typeform"

    signed = tools.typeform(SECRET, token="resp-1", score=3)
    r = await ingest.post(tenant, "typeform", signed)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "accepted"
    # The same delivery again (Typeform retries on timeouts): acknowledged, no new event.
    again = await ingest.post(tenant, "typeform", signed)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "duplicate"

    forged = tools.Signed(signed.body.replace(b'"number":3', b'"number":9'), signed.headers)
    bad = await ingest.post(tenant, "typeform", forged)
    assert bad.status_code == 401, bad.text
    assert bad.json()["error"]["code"] == "bad_signature"
    unknown = await ingest.post(tenant, "no-such-source", signed)
    assert unknown.status_code == 401, unknown.text  # never 404: Typeform would disable the hook
    async with httpx.AsyncClient() as client:  # SurveyMonkey pings a hook when it is registered
        assert (await client.head(f"{ingest.url}/v1/webhooks/{tenant}/typeform")).status_code == 200

    (event,) = await events_for(ingest, tenant, 1)
    assert (event["score"], event["comment"], event["source"]["tool"]) == (
        3,
        "Fast support",
        "typeform",
    )
    assert event["segments"] == {"department": "Support"}
    assert event["respondent"]["key"] == "C-42"
    # Unverified: no body kept, no id given; a sampled line each for ops.
    assert "rejected_id" not in bad.json()
    assert "rejected_id" not in unknown.json()
    assert await ingest.rejected(tenant) == []
    seen = {(u["source"], u["code"]): u for u in await ingest.unverified(tenant)}
    assert seen.keys() == {("typeform", "bad_signature"), ("no-such-source", "unknown_source")}
    line = seen[("typeform", "bad_signature")]
    assert line["reason"] == "Typeform-Signature does not match the body"
    assert (line["client"], line["size"], line["count"]) == ("127.0.0.1", len(forged.body), 1)


async def test_unverified_posts_store_no_body_and_at_most_a_sampled_line(ingest: Ingest) -> None:
    tenant = new_tenant()
    await ingest.add_source(tenant, "typeform", TYPEFORM_SOURCE)
    junk = tools.typeform("not-the-secret", token="j", score=9)
    padded = tools.Signed(junk.body + b" " * 100_000, junk.headers)
    invented = new_tenant()
    for n in range(30):
        for who, name in ((tenant, "typeform"), (invented, f"src-{n % 3}")):
            r = await ingest.post(who, name, padded)
            assert r.status_code == 401, r.text
            assert "rejected_id" not in r.json()
    conn = await asyncpg.connect(asyncpg_dsn(ingest.env["ANBEFAL_DATABASE_URL"]))
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM ingest.rejected WHERE tenant = ANY($1)", [tenant, invented]
        )
        lines = await conn.fetch(
            "SELECT tenant, source, count, size FROM ingest.unverified_deliveries"
            " WHERE tenant = ANY($1)",
            [tenant, invented],
        )
    finally:
        await conn.close()
    assert stored == 0  # 6 MB posted, no byte of it kept
    assert sorted((r["tenant"], r["source"]) for r in lines) == sorted(
        [(tenant, "typeform")] + [(invented, f"src-{n}") for n in range(3)]
    )
    assert {r["size"] for r in lines} == {len(padded.body)}


@pytest.mark.parametrize("tool", ["tally", "delighted", "formbricks", "jotform", "generic"])
async def test_each_tool_end_to_end(ingest: Ingest, tool: str) -> None:
    tenant = new_tenant()
    secret = tools.WHSEC if tool in ("generic", "formbricks") else SECRET
    fields: dict[str, Any] = {
        "tally": {
            "score": "question_aa11",
            "comment": "question_bb22",
            "segments": {"team": "department"},
        },
        "delighted": {"segments": {"department": "Department"}},
        "formbricks": {
            "score": "npsQ",
            "comment": "whyQ",
            "segments": {"department": "department"},
        },
        "jotform": {"score": "howLikely", "comment": "whyThis", "respondent": {"id": "customerId"}},
        "generic": {},
    }[tool]
    await ingest.add_source(tenant, tool, {"tool": tool, "secret": secret, "fields": fields})
    deliveries: list[tools.Signed] = {
        "tally": [tools.tally(secret, response_id="rXy12", score=8)],
        "delighted": [
            tools.delighted(secret, response_id="77001", score=2, comment=None),
            tools.delighted(
                secret,
                response_id="77001",
                score=2,
                comment="Slow delivery",
                event_type="survey_response.updated",
                updated_at=1_796_036_400 + 600,
            ),
        ],
        "formbricks": [
            tools.formbricks(
                secret,
                response_id="clresp456",
                event=event,
                answers=answers,
                updated_at="2026-11-30T10:00:02.000Z",
            )
            for event, answers in (
                ("responseCreated", {"npsQ": 6}),
                ("responseFinished", {"npsQ": 6, "whyQ": "Nobody called back"}),
            )
        ],
        "jotform": [tools.jotform(secret, submission_id="5900011", score="10")],
        "generic": [
            tools.generic(
                secret,
                {
                    "response_id": "gf-1",
                    "score": 7,
                    "comment": "ok",
                    "answered_at": "2026-11-30T10:00:00+01:00",
                    "segments": {"store": "Aarhus C"},
                },
            )
        ],
    }[tool]
    for signed in deliveries:
        r = await ingest.post(tenant, tool, signed)
        assert r.status_code == 202, r.text
    found = await events_for(ingest, tenant, len(deliveries))
    assert len(found) == len(deliveries)
    latest = max(found, key=lambda e: e["version"])
    assert len({e["event_id"] for e in found}) == 1  # versions of one answer, not new answers
    expected = {
        "tally": (8, "Good team", {"team": "Support"}),
        "delighted": (2, "Slow delivery", {"department": "Support"}),
        "formbricks": (6, "Nobody called back", {"department": "Support"}),
        "jotform": (10, "Kind staff", {}),
        "generic": (7, "ok", {"store": "Aarhus C"}),
    }[tool]
    assert (latest["score"], latest["comment"], latest["segments"]) == expected

    if tool in ("generic", "formbricks"):
        stale = tools.generic(
            secret,
            {"response_id": "old", "score": 1, "answered_at": "2026-11-30T10:00:00Z"},
            at=time.time() - 600,
        )
        r = await ingest.post(tenant, tool, stale)
        assert r.status_code == 401, r.text
        assert "too old" in r.json()["error"]["message"]


async def test_scale_safety_is_a_clear_422_and_the_body_is_kept(ingest: Ingest) -> None:
    tenant = new_tenant()
    await ingest.add_source(tenant, "typeform", TYPEFORM_SOURCE)
    r = await ingest.post(tenant, "typeform", tools.typeform(SECRET, token="t-11", score=11))
    assert r.status_code == 422, r.text
    assert "outside the declared 0-10 scale" in r.json()["error"]["message"]
    assert r.json()["error"]["details"][0]["field"] == "nps"
    async with httpx.AsyncClient(base_url=ingest.url, headers=ingest.admin(tenant)) as client:
        bad = await client.put(
            f"/v1/tenants/{tenant}/sources/five-stars",
            json={**TYPEFORM_SOURCE, "scale_min": 1, "scale_max": 5},
        )
    assert bad.status_code == 422, bad.text
    assert "only a 0-10 question" in json.dumps(bad.json())
    kept = await ingest.rejected(tenant)
    assert kept[0]["status_code"] == 422
    assert kept[0]["verified"] is True


async def test_kept_body_is_replayed_after_the_source_is_fixed(ingest: Ingest) -> None:
    tenant = new_tenant()
    misnamed = {**TYPEFORM_SOURCE, "fields": {**TYPEFORM_SOURCE["fields"], "score": "nps_q"}}
    await ingest.add_source(tenant, "typeform", misnamed)
    r = await ingest.post(tenant, "typeform", tools.typeform(SECRET, token="resp-9", score=9))
    # Not an error to Typeform (it would retry or disable the hook), but kept with the reason.
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ignored"
    assert "nps_q" in r.json()["reason"]
    rejected_id = r.json()["rejected_id"]
    assert await records(ingest.stack.kafka.bootstrap, topics.RESPONSES, tenant) == []

    await ingest.add_source(tenant, "typeform", TYPEFORM_SOURCE)
    async with httpx.AsyncClient(base_url=ingest.url, headers=ingest.admin(tenant)) as client:
        replay = await client.post(f"/v1/tenants/{tenant}/rejected/{rejected_id}/replay")
        assert replay.status_code == 202, replay.text
        shown = await client.get(f"/v1/tenants/{tenant}/rejected/{rejected_id}")
        assert shown.json()["replayed_at"] is not None
        other = issue_token(TEST_JWT_SECRET, tenant="someone-else", role="admin", sub="x")
        foreign = await client.get(
            f"/v1/tenants/{tenant}/rejected/{rejected_id}",
            headers={"Authorization": f"Bearer {other}"},
        )
        assert foreign.status_code == 403
    (event,) = await events_for(ingest, tenant, 1)
    assert event["score"] == 9


async def test_thin_webhooks_are_fetched_with_retries(ingest: Ingest) -> None:
    api = ingest.api
    assert api is not None
    api.fail_first = 2
    try:
        tenant = new_tenant()
        await ingest.add_source(
            tenant,
            "surveymonkey",
            {
                "tool": "surveymonkey",
                "secret": SECRET,
                "client_id": "cid-1",
                # As SurveyMonkey documents its base URL: the path is not doubled.
                "api_base_url": "https://api.surveymonkey.com/v3",
                "api_token": "api-token",
                "fields": {
                    "score": "q-nps",
                    "comment": "q-why",
                    "segments": {"department": "department"},
                },
            },
        )
        await ingest.add_source(
            tenant,
            "qualtrics",
            {
                "tool": "qualtrics",
                "secret": SECRET,
                "api_base_url": "https://fra1.qualtrics.com/API/v3",
                "api_token": "api-token",
                "fields": {
                    "score": "QID1",
                    "comment": "QID2_TEXT",
                    "respondent": {"id": "CustomerID"},
                },
            },
        )
        api.add_surveymonkey("300222", "118877", 4, "Too slow", "Support")
        api.add_qualtrics("SV_abc123", "R_9xYz", 9, "Great")
        sm = tools.surveymonkey("cid-1", SECRET, survey_id="300222", response_id="118877")
        qx = tools.qualtrics(SECRET, survey_id="SV_abc123", response_id="R_9xYz")
        for name, signed in (("surveymonkey", sm), ("qualtrics", qx)):
            r = await ingest.post(tenant, name, signed)
            assert r.status_code == 202, r.text
            assert r.json()["status"] == "queued"
        found = await events_for(ingest, tenant, 2)
        by_tool = {e["source"]["tool"]: e for e in found}
        assert (by_tool["surveymonkey"]["score"], by_tool["surveymonkey"]["comment"]) == (
            4,
            "Too slow",
        )
        assert by_tool["surveymonkey"]["segments"] == {"department": "Support"}
        assert (by_tool["qualtrics"]["score"], by_tool["qualtrics"]["respondent"]["key"]) == (
            9,
            "C-42",
        )
        assert api.fail_first == 0  # the first two fetches failed and were retried
        forged = tools.surveymonkey("cid-1", "wrong-secret", survey_id="300222", response_id="1")
        assert (await ingest.post(tenant, "surveymonkey", forged)).status_code == 401
        assert not any("/v3/v3/" in path or "/API/v3/API/" in path for path in api.requests)
    finally:
        api.fail_first = 0


THIN_SOURCES = {
    "surveymonkey": {
        "tool": "surveymonkey",
        "secret": SECRET,
        "client_id": "cid-1",
        "api_base_url": "https://api.surveymonkey.com/v3",
        "api_token": "api-token",
        "fields": {"score": "q-nps", "comment": "q-why"},
    },
    "qualtrics": {
        "tool": "qualtrics",
        "secret": SECRET,
        "api_base_url": "https://fra1.qualtrics.com/API/v3",
        "api_token": "api-token",
        "fields": {"score": "QID1", "comment": "QID2_TEXT"},
    },
}


async def test_a_redelivered_thin_webhook_is_a_duplicate_without_a_new_fetch(
    ingest: Ingest,
) -> None:
    api = ingest.api
    assert api is not None
    tenant = new_tenant()
    for name, body in THIN_SOURCES.items():
        await ingest.add_source(tenant, name, body)
    sm_id, qx_id = f"sm-{uuid.uuid4().hex[:8]}", f"R_{uuid.uuid4().hex[:8]}"
    api.add_surveymonkey("300222", sm_id, 4, "Too slow", "Support")
    api.add_qualtrics("SV_abc123", qx_id, 9, "Great")
    # Each retry is the tool's own new delivery of the same answer: SurveyMonkey gives it a new
    # event_id, Qualtrics sends the same ids again.
    deliveries = {
        "surveymonkey": lambda: tools.surveymonkey(
            "cid-1", SECRET, survey_id="300222", response_id=sm_id
        ),
        "qualtrics": lambda: tools.qualtrics(SECRET, survey_id="SV_abc123", response_id=qx_id),
    }

    def calls(response_id: str) -> int:
        return sum(response_id in path for path in api.requests)

    queued = {}
    for name, delivery in deliveries.items():
        first = await ingest.post(tenant, name, delivery())
        assert (first.status_code, first.json()["status"]) == (202, "queued"), first.text
        queued[name] = first.json()["fetch_job_id"]
        # Retried while the fetch is still queued or running: acknowledged, nothing new queued.
        again = await ingest.post(tenant, name, delivery())
        assert (again.status_code, again.json()["status"]) == (200, "duplicate"), again.text
        assert again.json()["fetch_job_id"] == queued[name]
    await events_for(ingest, tenant, 2)
    fetched = {sm_id: calls(sm_id), qx_id: calls(qx_id)}
    assert fetched == {sm_id: 1, qx_id: 1}
    # Retried after the answer was fetched and published: still a duplicate, and no vendor call.
    for name, delivery in deliveries.items():
        late = await ingest.post(tenant, name, delivery())
        assert (late.status_code, late.json()["status"]) == (200, "duplicate"), late.text
    assert {sm_id: calls(sm_id), qx_id: calls(qx_id)} == fetched
    assert len(await records(ingest.stack.kafka.bootstrap, topics.RESPONSES, tenant)) == 2


async def test_a_qualtrics_answer_never_readable_is_kept_and_replayed(ingest: Ingest) -> None:
    api = ingest.api
    assert api is not None
    tenant = new_tenant()
    await ingest.add_source(tenant, "qualtrics", THIN_SOURCES["qualtrics"])
    response_id = f"R_{uuid.uuid4().hex[:8]}"
    delivery = tools.qualtrics(SECRET, survey_id="SV_abc123", response_id=response_id)
    r = await ingest.post(tenant, "qualtrics", delivery)
    assert r.status_code == 202, r.text

    async def given_up() -> list[dict[str, Any]]:
        return await ingest.rejected(tenant)

    await wait_until(lambda: _nonempty(given_up), 30, "the unreadable answer given up")
    (kept,) = await ingest.rejected(tenant)
    assert sum(response_id in path for path in api.requests) > 1  # asked again before giving up
    assert kept["verified"] is True  # the delivery as Qualtrics sent it: replayable
    async with httpx.AsyncClient(base_url=ingest.url, headers=ingest.admin(tenant)) as client:
        shown = await client.get(f"/v1/tenants/{tenant}/rejected/{kept['id']}")
        assert base64.b64decode(shown.json()["body_base64"]) == delivery.body
        api.add_qualtrics("SV_abc123", response_id, 6, "Late")
        replay = await client.post(f"/v1/tenants/{tenant}/rejected/{kept['id']}/replay")
        assert (replay.status_code, replay.json()["status"]) == (202, "queued"), replay.text
    (event,) = await events_for(ingest, tenant, 1)
    assert (event["score"], event["comment"]) == (6, "Late")


async def test_a_source_cannot_point_the_fetcher_at_an_internal_host(ingest: Ingest) -> None:
    tenant = new_tenant()
    body = {
        "tool": "qualtrics", "secret": SECRET, "api_token": "t", "fields": {"score": "QID1"},
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=ingest.url, headers=ingest.admin(tenant)) as client:
        for url in (
            "http://127.0.0.1:8001",
            "https://169.254.169.254/latest",
            "https://fra1.qualtrics.com.attacker.example/API/v3",
            "https://postgres.internal/API/v3",
        ):
            r = await client.put(
                f"/v1/tenants/{tenant}/sources/qx", json={**body, "api_base_url": url}
            )
            assert r.status_code == 422, (url, r.text)
            assert "qualtrics.com/API/v3" in r.text  # says what is accepted


async def test_the_same_answer_three_times_is_counted_once_and_routed_once(
    ingest: Ingest,
) -> None:
    tenant = new_tenant()
    await ingest.add_source(tenant, "typeform", TYPEFORM_SOURCE)
    # Answered an hour ago: young enough for the detractor call's maximum answer age.
    answered = datetime.now(UTC) - timedelta(hours=1)
    signed = tools.typeform(
        SECRET,
        token="resp-3x",
        score=2,
        hidden={"customer_id": "C-7"},
        submitted_at=answered.isoformat(),
    )
    statuses = [(await ingest.post(tenant, "typeform", signed)).status_code for _ in range(3)]
    assert statuses == [202, 200, 200]
    (event,) = await events_for(ingest, tenant, 1)

    env = ingest.env
    prefix = env["ANBEFAL_GROUP_PREFIX"]
    bootstrap, db = env["ANBEFAL_KAFKA_BOOTSTRAP"], env["ANBEFAL_DATABASE_URL"]

    async def settled() -> bool:
        return await caught_up(
            bootstrap, db, "scoring", f"{prefix}-scoring", [topics.RESPONSES]
        ) and await caught_up(
            bootstrap, db, "closed_loop", f"{prefix}-closed-loop", [topics.RESPONSES]
        )

    await wait_until(settled, 60, "scoring and closed_loop consumed the answers")
    conn = await asyncpg.connect(asyncpg_dsn(db))
    try:
        counted = await conn.fetchval(
            "SELECT count(*) FROM scoring.answers WHERE tenant = $1", tenant
        )
    finally:
        await conn.close()
    assert counted == 1
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="viewer", sub="e2e")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
        scores = await client.get(
            f"{ingest.processes['scoring'].url}/v1/tenants/{tenant}/scores",
            params={
                "from": (answered - timedelta(days=1)).date().isoformat(),
                "to": (answered + timedelta(days=1)).date().isoformat(),
            },
        )
    assert scores.status_code == 200, scores.text
    ((segment),) = scores.json()["segments"]
    assert (segment["n"], segment["detractors"]) == (1, 1)

    async def routed() -> list[dict[str, Any]]:
        return await records(bootstrap, topics.ACTIONS, tenant)

    await wait_until(lambda: _nonempty(routed), 60, "the detractor's action published")
    actions = await routed()
    assert [a["rule_id"] for a in actions] == ["detractor-call"]
    assert actions[0]["response_event_id"] == event["event_id"]


async def _nonempty(fetch: Any) -> bool:
    return bool(await fetch())


async def test_oversized_bodies_and_the_rate_limit(stack: Any, tmp_path: Path) -> None:
    env = stack.service_env(
        stack.new_database(),
        ANBEFAL_INGEST_TENANT_RATE_PER_S="2",
        ANBEFAL_INGEST_TENANT_BURST="3",
        ANBEFAL_INGEST_UNVERIFIED_RATE_PER_S="0.01",
        ANBEFAL_INGEST_UNVERIFIED_BURST="5",
    )
    process = ServiceProcess("ingest", env, tmp_path).start()
    try:
        await process.wait_ready()
        small = Ingest(stack, {"ingest": process}, env)
        tenant = new_tenant()
        await small.add_source(tenant, "typeform", TYPEFORM_SOURCE)
        huge = tools.Signed(
            b"{" + b" " * (2 * 1024 * 1024) + b"}", {"content-type": "application/json"}
        )
        r = await small.post(tenant, "typeform", huge)
        assert r.status_code == 413, r.text
        statuses = []
        for n in range(6):
            r = await small.post(
                tenant, "typeform", tools.typeform(SECRET, token=f"r-{n}", score=9)
            )
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) >= 1
                assert r.json()["error"]["code"] == "rate_limited"
        assert 429 in statuses
        assert statuses[0] == 202  # the burst lets the first ones through

        # Junk aimed at a real tenant meets its own limit and leaves the tenant's budget alone.
        quiet = new_tenant()
        await small.add_source(quiet, "typeform", TYPEFORM_SOURCE)
        forged = tools.typeform("not-the-secret", token="f", score=1)
        junk = [(await small.post(quiet, "typeform", forged)).status_code for _ in range(8)]
        # (the 413 above came from this address too: one of its 5 unverified tokens)
        assert junk == [401] * 4 + [429] * 4, junk
        signed = await small.post(quiet, "typeform", tools.typeform(SECRET, token="q", score=9))
        assert signed.status_code == 202, signed.text
        other = new_tenant()  # another tenant is not slowed by this one
        await small.add_source(other, "typeform", TYPEFORM_SOURCE)
        assert (
            await small.post(other, "typeform", tools.typeform(SECRET, token="o", score=9))
        ).status_code == 202
    finally:
        process.stop()


FUZZ_TENANT = f"fuzz-{uuid.uuid4().hex[:8]}"
FUZZ_HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "content-type",
            "typeform-signature",
            "tally-signature",
            "x-delighted-webhook-signature",
            "sm-signature",
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60),
    max_size=5,
)


async def test_arbitrary_unsigned_requests_never_500_and_never_publish(ingest: Ingest) -> None:
    tools_and_secrets = {
        "typeform": SECRET,
        "tally": SECRET,
        "delighted": SECRET,
        "jotform": SECRET,
        "generic": tools.WHSEC,
        "formbricks": tools.WHSEC,
    }
    for tool, secret in tools_and_secrets.items():
        fields = {} if tool in ("generic", "delighted") else {"score": "nps"}
        await ingest.add_source(
            FUZZ_TENANT, tool, {"tool": tool, "secret": secret, "fields": fields}
        )
    statuses: list[int] = []

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        tool=st.sampled_from(sorted(tools_and_secrets)),
        body=st.binary(max_size=300),
        headers=FUZZ_HEADERS,
        query=st.sampled_from(["", "token=guess", f"token={SECRET[:-1]}"]),
    )
    def fuzz(tool: str, body: bytes, headers: dict[str, str], query: str) -> None:
        url = f"{ingest.url}/v1/webhooks/{FUZZ_TENANT}/{tool}" + (f"?{query}" if query else "")
        r = httpx.post(url, content=body, headers=headers, timeout=10)
        statuses.append(r.status_code)
        assert r.status_code < 500, r.text
        assert r.status_code == 401, (tool, r.status_code, r.text)

    await asyncio.to_thread(fuzz)
    assert len(statuses) >= 100
    assert await records(ingest.stack.kafka.bootstrap, topics.RESPONSES, FUZZ_TENANT) == []


def cli(ingest: Ingest, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**ingest.env, "ANBEFAL_JWT_SECRET": TEST_JWT_SECRET}
    return subprocess.run(
        [sys.executable, "-m", "anbefal.cli.main", *args, "--url", ingest.url],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_cli_sources_rejected_and_csv_import(ingest: Ingest, tmp_path: Path) -> None:
    tenant = new_tenant()
    added = await asyncio.to_thread(
        cli,
        ingest,
        "source", "add", "tf", "--tenant", tenant, "--tool", "typeform",
        "--score-field", "nps_q", "--comment-field", "why",
        "--segment", "department=department", "--secret-stdin",
        stdin=f"{SECRET}\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert f"/v1/webhooks/{tenant}/tf" in added.stdout
    assert SECRET not in added.stdout + added.stderr
    listed = await asyncio.to_thread(cli, ingest, "source", "list", "--tenant", tenant)
    assert "tf\ttypeform\tscore=nps_q" in listed.stdout, listed.stderr
    # No secret given: one is generated, shown once, and signs the tool's deliveries.
    made = await asyncio.to_thread(
        cli, ingest, "source", "add", "gen", "--tenant", tenant, "--tool", "typeform",
        "--score-field", "nps", "--secret-stdin", stdin="\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    generated = made.stdout.split("paste it into typeform): ")[1].strip()
    assert len(generated) >= 43  # 32 random bytes
    signed = await ingest.post(tenant, "gen", tools.typeform(generated, token="gen-1", score=9))
    assert signed.status_code == 202, signed.text
    shown = await asyncio.to_thread(cli, ingest, "source", "show", "gen", "--tenant", tenant)
    assert generated not in shown.stdout
    assert "fingerprint" not in shown.stdout
    # The question is misnamed: the delivery is kept, fixed, then replayed from the CLI.
    r = await ingest.post(tenant, "tf", tools.typeform(SECRET, token="cli-1", score=6))
    assert r.json()["status"] == "ignored"
    kept = await asyncio.to_thread(cli, ingest, "rejected", "list", "--tenant", tenant)
    assert "replayable" in kept.stdout, kept.stderr
    assert "nps_q" in kept.stdout
    fixed = await asyncio.to_thread(
        cli, ingest, "source", "add", "tf", "--tenant", tenant, "--tool", "typeform",
        "--score-field", "nps", "--secret-stdin", stdin=f"{SECRET}\n",
    )  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    replay = await asyncio.to_thread(
        cli, ingest, "rejected", "replay", str(r.json()["rejected_id"]), "--tenant", tenant
    )
    assert replay.returncode == 0, replay.stderr
    assert '"status": "accepted"' in replay.stdout

    csv_path = tmp_path / "history.csv"
    rows = ["response_id,score,answered_at,comment,respondent_id,segment.department"]
    for n in range(1, 1201):
        score = "eleven" if n in (4, 600, 1200) else str(n % 11)
        day = 1 + n % 28
        rows.append(f"h-{n},{score},2025-03-{day:02d}T12:00:00+01:00,note {n},c-{n},Dept {n % 3}")
    csv_path.write_text("\n".join(rows) + "\n")
    first = await asyncio.to_thread(cli, ingest, "import", str(csv_path), "--tenant", tenant)
    assert first.returncode == 1, first.stderr  # three rows refused
    assert "imported 1197 new answers, 0 already there, 3 refused" in first.stderr
    assert "1197 answers scored, 0 routed: imported as history" in first.stderr
    assert "line 5: score:" in first.stderr  # line 1 is the header
    again = await asyncio.to_thread(cli, ingest, "import", str(csv_path), "--tenant", tenant)
    assert "imported 0 new answers, 1197 already there, 3 refused" in again.stderr
    found = await events_for(ingest, tenant, 1198)
    history = [e for e in found if e["source"]["response_id"].startswith("h-")]
    assert len(history) == 1197
    assert {e["answered_at"][:7] for e in history} == {"2025-03"}  # the past stays the past
    assert all(e["history"] for e in history)  # scored, never routed
    assert not any(e["history"] for e in found if e not in history)  # the replayed live answer


# The Google Forms Apps Script (deploy/google-forms/anbefal.gs)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "google-forms" / "anbefal.gs"
HARNESS = Path(__file__).with_name("google_forms_harness.js")


def run_script(url: str, submission: dict[str, Any], tmp: Path, fail_first: int = 0) -> Any:
    node = shutil.which("node")
    assert node, "Node.js is needed to run the Apps Script (it is on every machine of this kind)"
    path = tmp / f"submission-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(submission))
    done = subprocess.run(
        [node, str(HARNESS), str(SCRIPT), str(path)],
        env={"ANBEFAL_URL": url, "ANBEFAL_SECRET": tools.WHSEC, "FAIL_FIRST": str(fail_first)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


SCORE_TITLE = "How likely are you to recommend us to a friend or colleague?"


def submission(response_id: str, score: str) -> dict[str, Any]:
    return {
        "id": response_id,
        "timestamp": "2026-11-30T10:00:02.000Z",
        "email": "ida@example.com",
        "formId": "1FAIpQLSe-form",
        "items": [
            {
                "title": "How likely are you to recommend us to a friend or colleague?",
                "response": score,
            },
            {"title": "What is the main reason for your score?", "response": "Quick delivery"},
            {"title": "Department", "response": "Support"},
        ],
    }


async def test_apps_script_posts_signed_answers(ingest: Ingest, tmp_path: Path) -> None:
    tenant = new_tenant()
    await ingest.add_source(tenant, "google-nps", {"tool": "generic", "secret": tools.WHSEC})
    url = f"{ingest.url}/v1/webhooks/{tenant}/google-nps"

    out = run_script(url, submission("2_ABaOnud-1", "9"), tmp_path)
    assert (out["queuedAfterSubmit"], out["queuedAfterRetry"]) == (0, 0), out["logs"]
    (sent,) = out["requests"]

    # A network failure on submit is queued and delivered by the retry trigger.
    retried = run_script(url, submission("2_ABaOnud-2", "3"), tmp_path, fail_first=1)
    assert (retried["queuedAfterSubmit"], retried["queuedAfterRetry"]) == (1, 0), retried["logs"]

    found = await events_for(ingest, tenant, 2)
    by_id = {e["source"]["response_id"]: e for e in found}
    first = by_id["2_ABaOnud-1"]
    assert (first["score"], first["comment"], first["segments"]) == (
        9,
        "Quick delivery",
        {"department": "Support"},
    )
    assert first["answered_at"].startswith("2026-11-30T10:00:02")
    assert by_id["2_ABaOnud-2"]["score"] == 3

    headers = {k.lower(): v for k, v in sent["headers"].items()}
    async with httpx.AsyncClient() as client:
        tampered = await client.post(
            url, content=sent["payload"].replace('"score":9', '"score":0'), headers=headers
        )
        assert tampered.status_code == 401, tampered.text
        stale = {**headers, "webhook-timestamp": str(int(time.time()) - 600)}
        replayed = await client.post(url, content=sent["payload"], headers=stale)
        assert replayed.status_code == 401, replayed.text
        again = await client.post(url, content=sent["payload"], headers=headers)
        assert again.json()["status"] == "duplicate"

    skipped = run_script(url, {**submission("2_ABaOnud-3", "9"), "items": []}, tmp_path)
    assert skipped["requests"] == []
    assert any("no score question" in line for line in skipped["logs"])


async def test_batch_gives_a_result_per_item(ingest: Ingest) -> None:
    tenant = new_tenant()
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="ingest", sub="e2e")
    good = {"response_id": "b-1", "score": 9, "answered_at": "2026-11-30T10:00:00+01:00"}
    batch = {
        "responses": [
            good,
            {**good, "response_id": "b-2", "score": 12},
            {**good, "response_id": "b-3", "respondent": {"email": "not-an-email"}},
            good,  # the same answer twice in one batch is one answer
        ]
    }
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
        r = await client.post(f"{ingest.url}/v1/tenants/{tenant}/responses", json=batch)
        assert r.status_code == 207, r.text
        body = Accepted.model_validate(r.json())  # the documented response model
        assert [i.status for i in body.results] == ["accepted", "rejected", "rejected", "duplicate"]
        assert (body.accepted, body.new, body.duplicates, body.rejected) == (2, 1, 1, 2)
        assert body.results[1].errors[0]["field"] == "responses.1.score"
        assert body.results[2].errors[0]["field"] == "responses.2.respondent.email"
        assert body.rejected_id is not None
        none_valid = await client.post(
            f"{ingest.url}/v1/tenants/{tenant}/responses",
            json={"responses": [batch["responses"][1]]},
        )
        assert none_valid.status_code == 422, none_valid.text
    (event,) = await events_for(ingest, tenant, 1)
    assert event["source"]["response_id"] == "b-1"


async def test_a_207_keeps_only_the_refused_items_and_no_enps_identity(ingest: Ingest) -> None:
    tenant = new_tenant()
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="ingest", sub="e2e")
    ops = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="ops@e2e")
    person = {"id": "e-7", "name": "Ida Holm", "email": "ida@acme.example"}
    valid = {
        "response_id": "e-1", "kind": "enps", "score": 2, "comment": "my manager",
        "answered_at": "2026-11-30T10:00:00+01:00", "respondent": person,
    }  # fmt: skip
    batch = {
        "responses": [
            valid,
            {**valid, "response_id": "e-2", "score": 12},
            {**valid, "response_id": "e-3", "kind": "nps", "segments": {"all": "x"}},
        ]
    }
    async with httpx.AsyncClient() as client:
        r = await client.post(
            f"{ingest.url}/v1/tenants/{tenant}/responses",
            json=batch,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 207, r.text
        results = r.json()["results"]
        assert [i["status"] for i in results] == ["accepted", "rejected", "rejected"]
        assert results[2]["errors"][0]["field"] == "responses.2.segments"
        kept = await client.get(
            f"{ingest.url}/v1/tenants/{tenant}/rejected/{r.json()['rejected_id']}",
            headers={"Authorization": f"Bearer {ops}"},
        )
        assert kept.status_code == 200, kept.text
    body = json.loads(base64.b64decode(kept.json()["body_base64"]))
    assert [i["response_id"] for i in body["responses"]] == ["e-2", "e-3"]
    assert body["responses"][0]["respondent"] == {"id": "e-7"}  # the eNPS item
    assert body["responses"][1]["respondent"] == person  # a customer's, for the replay
