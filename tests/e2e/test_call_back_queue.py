"""The call-back queue through a real notify process: claims under contention, isolation, events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from anbefal.cli.users import add as add_staff
from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import TaskEvent, decode
from anbefal.common.kafka import Publisher
from anbefal.devstack.staffpage import StaffPage
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    call_task_action,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


class Queue:
    def __init__(self, notify: ServiceProcess, tenant: str, database_url: str) -> None:
        self.notify = notify
        self.tenant = tenant
        self.database_url = database_url

    def client(self, role: str, sub: str, tenant: str | None = None) -> httpx.AsyncClient:
        token = issue_token(TEST_JWT_SECRET, tenant=tenant or self.tenant, role=role, sub=sub)
        return httpx.AsyncClient(
            base_url=f"{self.notify.url}/v1/tenants/{tenant or self.tenant}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )


@pytest.fixture
async def queue(stack: Any) -> AsyncIterator[Queue]:
    url = stack.new_database()
    tenant = f"q-{uuid.uuid4().hex[:8]}"
    # The tasks' assignee has a login: each new task sends them an assignment notice.
    await add_staff(
        url, tenant=tenant, email="director@acme.example", name="Director", role="director",
        password="long enough password", locale="en",
    )  # fmt: skip
    # The first two tasks are overdue: an SLA clock tick during a test would escalate one and
    # add an event to the sequence a test checks. Its first tick (at start, no tasks yet) is the
    # only one a test lives to see.
    env = stack.service_env(url, ANBEFAL_SLA_POLL_S="3600")
    notify = ServiceProcess("notify", env, stack.root / "logs").start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="queue-test")
    await publisher.start()
    try:
        await notify.wait_ready()
        await publisher.wait_ready(30)
        actions = [call_task_action(tenant, n) for n in range(10)]
        await publisher.send_many(topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in actions])
        q = Queue(notify, tenant, url)
        async with q.client("agent", "watcher") as c:

            async def ten_tasks() -> bool:
                return len((await c.get("/tasks")).json()["tasks"]) == 10

            try:
                await wait_until(ten_tasks, 60, "ten tasks in the queue")
            except TimeoutError as exc:
                raise AssertionError(f"{exc}; notify's log:\n{notify.log_tail(60)}") from exc
        yield q
    finally:
        await publisher.stop()
        notify.stop()


async def test_twenty_agents_claiming_ten_tasks_leave_each_with_one_holder(queue: Queue) -> None:
    async with queue.client("agent", "lister") as c:
        tasks = (await c.get("/tasks")).json()["tasks"]
    agents = [queue.client("agent", f"agent-{i}") for i in range(20)]
    try:
        attempts = [(a, t["id"]) for a in agents for t in tasks]
        results = await asyncio.gather(*(a.post(f"/tasks/{tid}/claim") for a, tid in attempts))
    finally:
        for a in agents:
            await a.aclose()
    wins: dict[str, list[str]] = {}
    for (_, tid), r in zip(attempts, results, strict=True):
        assert r.status_code in (200, 409), r.text
        if r.status_code == 200:
            wins.setdefault(tid, []).append(r.json()["claimed_by"])
    assert sorted(wins) == sorted(t["id"] for t in tasks)
    assert all(len(holders) == 1 for holders in wins.values()), wins
    async with queue.client("agent", "lister") as c:
        final = {t["id"]: t["claimed_by"] for t in (await c.get("/tasks")).json()["tasks"]}
    assert final == {tid: holders[0] for tid, holders in wins.items()}


async def test_claim_complete_reopen_and_events(queue: Queue, stack: Any) -> None:
    async with (
        queue.client("agent", "ida@acme.example") as ida,
        queue.client("agent", "ole@acme.example") as ole,
        queue.client("director", "boss@acme.example") as boss,
    ):
        tasks = (await ida.get("/tasks")).json()["tasks"]
        # Overdue first, then by due time: the list is ordered by due time.
        dues = [t["due_at"] for t in tasks]
        assert dues == sorted(dues)
        tid = tasks[0]["id"]

        r = await ida.post(f"/tasks/{tid}/claim")
        assert r.status_code == 200
        assert r.json()["status"] == "claimed"
        assert (await ole.post(f"/tasks/{tid}/claim")).status_code == 409
        r = await ole.post(f"/tasks/{tid}/complete", json={"outcome": "reached", "note": "x"})
        assert r.status_code == 403
        r = await ida.post(f"/tasks/{tid}/complete", json={"outcome": "reached", "note": " "})
        assert r.status_code == 422
        assert r.json()["error"]["details"][0]["field"] == "note"
        r = await ida.post(f"/tasks/{tid}/complete", json={"outcome": "shouted", "note": "x"})
        assert r.status_code == 422
        r = await ida.post(
            f"/tasks/{tid}/complete",
            json={"outcome": "resolved", "note": "Called, fixed the login"},
        )
        assert r.status_code == 200
        done = r.json()
        assert (done["status"], done["outcome"]) == ("done", "resolved")
        # The outcome is data beside the note, never a code inside it.
        assert done["notes"][0]["body"] == "Called, fixed the login"
        assert done["notes"][0]["outcome"] == "resolved"

        r = await boss.post(f"/tasks/{tid}/reopen", json={"note": "customer called back"})
        assert r.status_code == 200
        assert (r.json()["status"], r.json()["claimed_by"]) == ("open", None)
        r = await boss.post(f"/tasks/{tid}/reassign", json={"assignee": "ole@acme.example"})
        assert r.json()["assignee"] == "ole@acme.example"
        assert (
            await ole.post(f"/tasks/{tid}/notes", json={"body": "voicemail left"})
        ).status_code == 201
        assert [n["body"] for n in (await ole.get(f"/tasks/{tid}")).json()["notes"]][
            -1
        ] == "voicemail left"

    # Every step left a task event on anbefal.task-events.v1, in order.
    consumer = AIOKafkaConsumer(
        topics.TASK_EVENTS,
        bootstrap_servers=stack.kafka.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: list[str] = []
    try:

        async def all_events() -> bool:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    event = decode(TaskEvent, record.value)
                    if str(event.task_id) == tid:
                        seen.append(event.type)
            return len(seen) >= 5

        await wait_until(all_events, 30, "task events published")
    finally:
        await consumer.stop()
    assert seen == ["created", "claimed", "completed", "reopened", "reassigned"]


TASK_CHANGES: list[tuple[str, dict[str, str] | None]] = [
    ("claim", None),
    ("complete", {"outcome": "reached", "note": "x"}),
    ("reassign", {"assignee": "a@b.example"}),
    ("reopen", {"note": "x"}),
    ("notes", {"body": "x"}),
]


async def test_another_tenant_sees_nothing(queue: Queue) -> None:
    async with queue.client("agent", "lister") as c:
        task_ids = [t["id"] for t in (await c.get("/tasks")).json()["tasks"]]
    async with queue.client("admin", "mail-reader") as c:

        async def assignment_notices() -> bool:
            return len((await c.get("/emails")).json()["emails"]) == len(task_ids)

        # Each task told its assignee: those are this tenant's email ids.
        await wait_until(assignment_notices, 30, "an assignment notice per task")
        email_ids = [e["id"] for e in (await c.get("/emails")).json()["emails"]]
        # Control: the ids are real, so the 404s below are the tenant boundary.
        assert (await c.get(f"/emails/{email_ids[0]}")).status_code == 200
    outsider = f"other-{uuid.uuid4().hex[:6]}"
    async with queue.client("admin", "intruder", tenant=outsider) as other:
        # Their own tenant's URL with our ids: not found, never "forbidden".
        for tid in task_ids:
            assert (await other.get(f"/tasks/{tid}")).status_code == 404
            for path, body in TASK_CHANGES:
                r = await other.post(f"/tasks/{tid}/{path}", json=body)
                assert r.status_code == 404, (path, r.text)
        for eid in email_ids:
            assert (await other.get(f"/emails/{eid}")).status_code == 404
        assert (await other.get("/tasks")).json()["tasks"] == []
        assert (await other.get("/emails")).json()["emails"] == []
        assert (await other.get("/chat-messages")).json()["chat_messages"] == []
    tid = task_ids[0]
    # A token for another tenant on our tenant's URLs: refused outright.
    token = issue_token(TEST_JWT_SECRET, tenant=outsider, role="admin", sub="intruder")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as raw:
        r = await raw.get(f"{queue.notify.url}/v1/tenants/{queue.tenant}/tasks")
        assert r.status_code == 403
        r = await raw.post(f"{queue.notify.url}/v1/tenants/{queue.tenant}/tasks/{tid}/claim")
        assert r.status_code == 403
        r = await raw.get(f"{queue.notify.url}/v1/tenants/{queue.tenant}/emails/{email_ids[0]}")
        assert r.status_code == 403
    async with queue.client("viewer", "v") as viewer:
        assert (await viewer.post(f"/tasks/{tid}/claim")).status_code == 403
    async with queue.client("agent", "a") as agent:
        # Agents work tasks; the delivery log (respondents' addresses) is not theirs.
        assert (await agent.get(f"/emails/{email_ids[0]}")).status_code == 403

    # The staff page draws the same line: another tenant's director, logged in, gets 404 on
    # our task pages and sees none of our tasks in the team queue.
    await add_staff(
        queue.database_url, tenant=outsider, email="d@other.example", name="D", role="director",
        password="long enough password", locale="en",
    )  # fmt: skip
    async with StaffPage(queue.notify.url) as page:
        login = await page.log_in(outsider, "d@other.example", "long enough password")
        assert login.status_code == 303, login.text
        for tid in task_ids:
            r = await page.client.get(f"/tasks/{tid}")
            assert (r.status_code, r.headers["content-type"]) == (404, "text/html; charset=utf-8")
            for path, body in TASK_CHANGES:
                r = await page.submit(f"/tasks/{tid}/{path}", body or {})
                assert r.status_code == 404, (path, r.text)
                # The page's own error, not the API's JSON.
                assert r.headers["content-type"] == "text/html; charset=utf-8", path
                assert 'role="alert">no such task<' in r.text
        team = await page.client.get("/queue/rows", params={"view": "team"})
        assert team.status_code == 200
        assert "data-task-id" not in team.text
    async with queue.client("agent", "lister") as c:
        untouched = (await c.get("/tasks")).json()["tasks"]
    assert {(t["status"], t["assignee"]) for t in untouched} == {("open", "director@acme.example")}
