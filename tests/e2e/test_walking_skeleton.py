"""An answer travels webhook -> Kafka -> score, rule, task and email, through four real services."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from anbefal.common import hops, topics
from anbefal.common.auth import issue_token
from anbefal.common.metrics import tenant_label
from anbefal.common.services import CLOSED_LOOP, NOTIFY
from anbefal.devstack.mailsink import MailSink, read_messages
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    asyncpg_dsn,
    caught_up,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SERVICES = ("ingest", "scoring", "closed-loop", "notify")


class System:
    def __init__(
        self, processes: dict[str, ServiceProcess], env: dict[str, str], mail_dir: Path
    ) -> None:
        self.processes = processes
        self.env = env
        self.mail_dir = mail_dir

    def url(self, service: str) -> str:
        return self.processes[service].url

    async def quiescent(self) -> bool:
        """Every consumer has stored offsets at the end of its topics (nothing in flight)."""
        bootstrap = self.env["ANBEFAL_KAFKA_BOOTSTRAP"]
        db = self.env["ANBEFAL_DATABASE_URL"]
        prefix = self.env["ANBEFAL_GROUP_PREFIX"]
        return (
            await caught_up(bootstrap, db, "scoring", f"{prefix}-scoring", [topics.RESPONSES])
            and await caught_up(
                bootstrap, db, "closed_loop", f"{prefix}-closed-loop", [topics.RESPONSES]
            )
            and await caught_up(bootstrap, db, "notify", f"{prefix}-notify", [topics.ACTIONS])
        )


@pytest.fixture
async def system(stack: Any, tmp_path: Path) -> AsyncIterator[System]:
    mail_dir = tmp_path / "mail"
    sink = MailSink(mail_dir)
    sink.start()
    env = stack.service_env(stack.new_database(), ANBEFAL_SMTP_PORT=str(sink.port))
    processes = {s: ServiceProcess(s, env, stack.root / "logs").start() for s in SERVICES}
    try:
        for process in processes.values():
            await process.wait_ready()
        yield System(processes, env, mail_dir)
    finally:
        for process in processes.values():
            process.stop()
        sink.stop()


def hop_count(metrics: str, stage: str) -> float:
    """How many hops of `stage` a service's /metrics counted."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "anbefal_hop_seconds_count" and sample.labels["stage"] == stage
    )


def answer(
    response_id: str, score: int, answered_at: datetime, tenant: str = "t"
) -> dict[str, Any]:
    return {
        "response_id": response_id,
        "score": score,
        "comment": f"gave {score}",
        "answered_at": answered_at.isoformat(),
        "respondent": {
            "id": f"c-{response_id}",
            "name": "Ida Holm",
            "email": f"{response_id}.{tenant}@example.com",
        },
        "segments": {"department": "Support", "country": "DK"},
        "owners": {"salesperson": "sales@acme.example", "director": "director@acme.example"},
    }


async def test_three_answers_scored_routed_and_followed_up_exactly_once(system: System) -> None:
    tenant = f"e2e-{uuid.uuid4().hex[:8]}"
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="test")
    headers = {"Authorization": f"Bearer {token}"}
    answered_at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    answers = [
        answer("r-3", 3, answered_at, tenant),
        answer("r-7", 7, answered_at, tenant),
        answer("r-10", 10, answered_at, tenant),
    ]

    async with httpx.AsyncClient(headers=headers, timeout=10) as client:

        async def post_all() -> None:
            for body in answers:
                r = await client.post(
                    f"{system.url('ingest')}/v1/tenants/{tenant}/responses", json=body
                )
                assert r.status_code == 202, r.text
                assert r.json()["accepted"] == 1

        async def tasks() -> list[dict[str, Any]]:
            r = await client.get(f"{system.url('notify')}/v1/tenants/{tenant}/tasks")
            assert r.status_code == 200, r.text
            return list(r.json()["tasks"])

        def mails_to_tenant() -> list[Any]:
            # Only this tenant's: other tests' actions share the topic and this notify sees them.
            return [
                m
                for m in read_messages(system.mail_dir)
                if m["To"].endswith(f".{tenant}@example.com")
            ]

        async def scores() -> dict[str, Any]:
            r = await client.get(
                f"{system.url('scoring')}/v1/tenants/{tenant}/scores", params={"window": "7d"}
            )
            assert r.status_code == 200, r.text
            return dict(r.json())

        await post_all()

        async def two_tasks_and_a_mail() -> bool:
            return len(await tasks()) == 2 and len(mails_to_tenant()) == 1

        try:
            await wait_until(two_tasks_and_a_mail, 60, "two tasks and one thank-you email")
        except TimeoutError as exc:
            seen = [m["To"] for m in read_messages(system.mail_dir)]
            logs = system.processes["notify"].log_tail(20)
            raise AssertionError(
                f"{exc}: {len(await tasks())} tasks, mail to {seen}\n{logs}"
            ) from exc
        await wait_until(system.quiescent, 60, "consumers caught up")

        by_type = {t["type"]: t for t in await tasks()}
        call = by_type["call_task"]
        assert call["assignee"] == "director@acme.example"
        assert call["score"] == 3
        assert datetime.fromisoformat(call["due_at"]) == answered_at + timedelta(hours=48)
        follow_up = by_type["follow_up_task"]
        assert follow_up["assignee"] == "sales@acme.example"
        assert follow_up["score"] == 7

        (mail,) = mails_to_tenant()
        assert mail["To"] == f"r-10.{tenant}@example.com"
        assert "Thank you" in mail["Subject"]
        # The answer named its director, but notify does not know the address as the tenant's
        # (no staff login, not the tenant's mail domain, no tenant settings): no Reply-To.
        assert mail["Reply-To"] is None

        (segment,) = (await scores())["segments"]
        assert (segment["value"], segment["n"], segment["nps"]) == ("all", 3, 0.0)
        assert (segment["promoters"], segment["passives"], segment["detractors"]) == (1, 1, 1)

        r = await client.get(f"{system.url('notify')}/v1/tenants/{tenant}/emails")
        (logged,) = r.json()["emails"]
        assert logged["status"] == "sent"

        notify = system.processes["notify"]
        assert (await client.get(f"{notify.url}/metrics")).status_code == 404
        metrics = (await client.get(f"{notify.metrics_url}/metrics")).text
        conn = await asyncpg.connect(asyncpg_dsn(system.env["ANBEFAL_DATABASE_URL"]))
        try:
            sent = await conn.fetchval(
                "SELECT count(*) FROM notify.emails"
                " WHERE status = 'sent' AND template = 'thank_you'"
            )
        finally:
            await conn.close()
        assert f'anbefal_emails_sent_total{{kind="thank_you"}} {float(sent)}' in metrics
        assert f'anbefal_tasks_open{{tenant="{tenant_label(tenant)}"}} 2.0' in metrics
        assert tenant not in metrics
        assert "anbefal_detractor_to_task_seconds_count 0.0" not in metrics

        # Each hop from the answer to its task and mail is timed (the latency budget).
        prefix = system.env["ANBEFAL_GROUP_PREFIX"]
        closed_loop = system.processes["closed-loop"]
        loop_metrics = (await client.get(f"{closed_loop.metrics_url}/metrics")).text
        consumed = hops.consumed(topics.RESPONSES, CLOSED_LOOP.group_id(prefix))
        assert hop_count(loop_metrics, consumed) >= 3
        assert hop_count(loop_metrics, hops.published("closed_loop.outbox", topics.ACTIONS)) >= 3
        assert hop_count(metrics, hops.consumed(topics.ACTIONS, NOTIFY.group_id(prefix))) >= 3
        assert hop_count(metrics, hops.EMAIL_SENT) >= 1

        # The survey tool retries everything: nothing may change.
        await post_all()
        await wait_until(system.quiescent, 60, "consumers caught up after the retries")
        await system.processes["closed-loop"].wait_ready()  # relay idle and healthy
        assert len(await tasks()) == 2
        assert len(mails_to_tenant()) == 1
        (segment,) = (await scores())["segments"]
        assert segment["n"] == 3


async def test_bad_bodies_get_clear_errors_and_are_kept(system: System) -> None:
    tenant = f"e2e-{uuid.uuid4().hex[:8]}"
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="ingest", sub="test")
    url = f"{system.url('ingest')}/v1/tenants/{tenant}/responses"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
        r = await client.post(url, json={**answer("r-1", 7, datetime.now(UTC)), "score": 11})
        assert r.status_code == 422
        assert [d["field"] for d in r.json()["error"]["details"]] == ["score"]
        r = await client.post(
            url, content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "malformed_json"
        r = await client.post(url, content=b"x" * (1024 * 1024 + 1))
        assert r.status_code == 413
        other = issue_token(TEST_JWT_SECRET, tenant="someone-else", role="ingest", sub="test")
        r = await client.post(
            url,
            json=answer("r-2", 7, datetime.now(UTC)),
            headers={"Authorization": f"Bearer {other}"},
        )
        assert r.status_code == 403
        r = await client.post(
            url, json=answer("r-2", 7, datetime.now(UTC)), headers={"Authorization": "Bearer nope"}
        )
        assert r.status_code == 401

    conn = await asyncpg.connect(asyncpg_dsn(system.env["ANBEFAL_DATABASE_URL"]))
    try:
        rows = await conn.fetch(
            "SELECT status_code, body FROM ingest.rejected WHERE tenant = $1 ORDER BY id", tenant
        )
    finally:
        await conn.close()
    # The oversized body is kept too, with its reason (only its beginning: at most 64 KiB).
    assert [r["status_code"] for r in rows] == [422, 400, 413]
    assert rows[1]["body"] == b"{not json"
    assert len(rows[2]["body"]) <= 64 * 1024


async def test_an_overlong_request_id_does_not_cost_the_call(system: System) -> None:
    """A client's `X-Request-Id` becomes the answer's trace id, which every service stores in a
    64-character column: a longer one used to fail closed_loop's write and dead-letter the
    answer, so the detractor got no call. Such an id is replaced by a fresh one."""
    tenant = f"e2e-{uuid.uuid4().hex[:8]}"
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="test")
    headers = {"Authorization": f"Bearer {token}", "X-Request-Id": "x" * 100}
    answered_at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    async with httpx.AsyncClient(headers=headers, timeout=10) as client:
        r = await client.post(
            f"{system.url('ingest')}/v1/tenants/{tenant}/responses",
            json=answer("r-long", 2, answered_at, tenant),
        )
        assert r.status_code == 202, r.text
        assert r.json()["trace_id"] != "x" * 100

        async def call_task() -> bool:
            r = await client.get(f"{system.url('notify')}/v1/tenants/{tenant}/tasks")
            return [t["type"] for t in r.json()["tasks"]] == ["call_task"]

        await wait_until(call_task, 60, "the detractor's call task")
    conn = await asyncpg.connect(asyncpg_dsn(system.env["ANBEFAL_DATABASE_URL"]))
    try:
        # Only this tenant's: the new consumer groups also read earlier tests' poison records.
        dead = await conn.fetchval(
            "SELECT count(*) FROM closed_loop.dead_letters WHERE position($1::bytea in value) > 0",
            f'"tenant":"{tenant}"'.encode(),
        )
    finally:
        await conn.close()
    assert dead == 0


async def test_an_import_of_history_is_scored_never_routed_then_a_fresh_answer_is(
    system: System, tmp_path: Path
) -> None:
    """A company's first step: two months of past answers imported. The figures count them;
    nobody gets a call task or a thank-you mail for them; the import says so. The first fresh
    detractor afterwards gets their call."""
    tenant = f"e2e-{uuid.uuid4().hex[:8]}"
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="test")
    now = datetime.now(UTC).replace(microsecond=0)
    csv_path = tmp_path / "history.csv"
    rows = ["response_id,score,answered_at,comment,respondent_id,email,director,segment.department"]
    for n in range(600):
        at = now - timedelta(days=2 + n % 58, minutes=n)
        rows.append(
            f"h-{n},{n % 11},{at.isoformat()},note {n},c-{n},h-{n}.{tenant}@example.com,"
            f"director@acme.example,Dept {n % 3}"
        )
    csv_path.write_text("\n".join(rows) + "\n")
    imported = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "anbefal.cli.main", "import", str(csv_path), "--tenant", tenant,
         "--url", system.url("ingest")],
        env={**system.env, "ANBEFAL_JWT_SECRET": TEST_JWT_SECRET},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "600 answers scored, 0 routed: imported as history" in imported.stderr

    expected = {"promoters": 0, "passives": 0, "detractors": 0}
    for n in range(600):
        score = n % 11
        expected["promoters" if score >= 9 else "passives" if score >= 7 else "detractors"] += 1
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:

        async def all_scored() -> bool:
            r = await client.get(
                f"{system.url('scoring')}/v1/tenants/{tenant}/scores", params={"window": "90d"}
            )
            segments = r.json()["segments"] if r.status_code == 200 else []
            return bool(segments) and segments[0]["n"] == 600

        await wait_until(all_scored, 120, "the 600 imported answers scored")
        await wait_until(system.quiescent, 120, "consumers caught up after the import")
        r = await client.get(
            f"{system.url('scoring')}/v1/tenants/{tenant}/scores", params={"window": "90d"}
        )
        (total,) = r.json()["segments"]
        assert {k: total[k] for k in expected} == expected

        async def tasks() -> list[dict[str, Any]]:
            r = await client.get(f"{system.url('notify')}/v1/tenants/{tenant}/tasks")
            assert r.status_code == 200, r.text
            return list(r.json()["tasks"])

        assert await tasks() == []
        assert not [m for m in read_messages(system.mail_dir) if tenant in str(m["To"])]

        fresh = answer("f-1", 2, now - timedelta(minutes=5), tenant)
        r = await client.post(f"{system.url('ingest')}/v1/tenants/{tenant}/responses", json=fresh)
        assert r.status_code == 202, r.text

        async def one_task() -> bool:
            return len(await tasks()) == 1

        await wait_until(one_task, 60, "the fresh detractor's call task")
        (task,) = await tasks()
        assert (task["type"], task["score"]) == ("call_task", 2)
