"""Revisions of an action reach its task: a late comment and attached answers update it, a
cancellation takes it out of the queue (and keeps an unsent email from going), a later
revision revives it; old, repeated and out-of-order revisions change nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import Action, AttachedAnswer, Respondent, action_id
from anbefal.common.kafka import Publisher
from anbefal.devstack.mailsink import MailSink, read_messages
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, call_task_action, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@dataclass
class Notify:
    process: ServiceProcess
    publisher: Publisher
    sink: MailSink
    tenant: str

    def client(self, role: str = "admin", sub: str = "t") -> httpx.AsyncClient:
        token = issue_token(TEST_JWT_SECRET, tenant=self.tenant, role=role, sub=sub)
        return httpx.AsyncClient(
            base_url=f"{self.process.url}/v1/tenants/{self.tenant}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    async def send(self, *actions: Action) -> None:
        # One call: records of one key keep this order on their partition.
        await self.publisher.send_many(
            topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in actions]
        )

    async def task(self, action: Action) -> dict[str, Any] | None:
        async with self.client() as api:
            tasks = (await api.get("/tasks")).json()["tasks"]
        found = [t for t in tasks if t["action_id"] == str(action.action_id)]
        return found[0] if found else None

    async def email_status(self, action: Action) -> str | None:
        async with self.client() as api:
            emails = (await api.get("/emails")).json()["emails"]
        found = [e["status"] for e in emails if e["action_id"] == str(action.action_id)]
        return found[0] if found else None

    async def processed(self, after: Action) -> None:
        """Wait until notify has handled everything sent before `marker`, on its partition: a
        thank-you email for the same answer (same key), sent last, is in the delivery log."""
        marker = thanks(self.tenant, after.response_event_id, f"marker-{uuid.uuid4().hex[:6]}")
        await self.send(marker)

        async def logged() -> bool:
            return await self.email_status(marker) is not None

        await wait_until(logged, 60, "the marker email logged")


def thanks(tenant: str, response: uuid.UUID, rule: str, email: str = "m@x.example") -> Action:
    now = datetime.now(UTC)
    return Action(
        action_id=action_id(response, rule), tenant=tenant, type="email", rule_id=rule,
        response_event_id=response, response_version=1, kind="nps", score=10,
        answered_at=now, decided_at=now, assignee=None, assignee_role="director",
        template="thank_you", respondent=Respondent(key="c-m", email=email),
    )  # fmt: skip


def revised(action: Action, revision: int, **changes: Any) -> Action:
    return action.model_copy(update={"revision": revision, **changes})


@pytest.fixture
async def notify(stack: Any, tmp_path: Path) -> AsyncIterator[Notify]:
    sink = MailSink(tmp_path / "mail")
    sink.start()
    env = stack.service_env(stack.new_database(), ANBEFAL_SMTP_PORT=str(sink.port))
    process = ServiceProcess("notify", env, stack.root / "logs").start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="revision-test")
    await publisher.start()
    try:
        await process.wait_ready()
        await publisher.wait_ready(30)
        yield Notify(process, publisher, sink, f"rev-{uuid.uuid4().hex[:8]}")
    finally:
        await publisher.stop()
        process.stop()
        sink.stop()


async def test_a_late_comment_and_attached_answers_update_the_task(notify: Notify) -> None:
    first = call_task_action(notify.tenant, 4).model_copy(update={"comment": None})
    await notify.send(first)

    async def created() -> bool:
        return await notify.task(first) is not None

    await wait_until(created, 60, "the task")
    later = AttachedAnswer(
        response_event_id=uuid.uuid4(), response_version=1, score=3, comment="Still slow",
        answered_at=first.answered_at + timedelta(days=2),
    )  # fmt: skip
    second = revised(first, 2, comment="Late comment", attached=[later])
    # The newer revision, a repeat of it, then the first again (a late redelivery).
    await notify.send(second, second, first)
    await notify.processed(first)
    task = await notify.task(first)
    assert task is not None
    assert (task["revision"], task["comment"], task["status"]) == (2, "Late comment", "open")
    assert [(a["score"], a["comment"]) for a in task["attached"]] == [(3, "Still slow")]


async def test_a_cancelled_task_leaves_the_queue_and_a_later_revision_revives_it(
    notify: Notify,
) -> None:
    call = call_task_action(notify.tenant, 5)
    await notify.send(call)

    async def created() -> bool:
        return await notify.task(call) is not None

    await wait_until(created, 60, "the task")
    task = await notify.task(call)
    assert task is not None
    async with notify.client("agent", "ida@acme.example") as ida:
        assert (await ida.post(f"/tasks/{task['id']}/claim")).status_code == 200
        await notify.send(revised(call, 2, cancelled=True, score=9))
        await notify.processed(call)
        cancelled = await notify.task(call)
        assert cancelled is not None
        assert (cancelled["status"], cancelled["score"]) == ("cancelled", 9)
        r = await ida.post(
            f"/tasks/{task['id']}/complete", json={"outcome": "reached", "note": "x"}
        )
        assert (r.status_code, r.json()["error"]["code"]) == (409, "cancelled")
        open_ = (await ida.get("/tasks", params={"status": "open"})).json()["tasks"]
        assert str(call.action_id) not in {t["action_id"] for t in open_}

        # The score went back down: closed_loop revives the action.
        await notify.send(revised(call, 3, score=2))
        await notify.processed(call)
        revived = await notify.task(call)
        assert revived is not None
        assert (revived["status"], revived["claimed_by"], revived["revision"]) == ("open", None, 3)


async def test_out_of_order_cancellations_win(notify: Notify) -> None:
    call = call_task_action(notify.tenant, 6)
    email = thanks(notify.tenant, call.response_event_id, "promoter-thank-you", "ida@x.example")
    # Revision 2 (cancelled) overtakes revision 1 of both actions.
    await notify.send(revised(call, 2, cancelled=True), revised(email, 2, cancelled=True))
    await notify.send(call, email)
    await notify.processed(call)
    task = await notify.task(call)
    assert task is not None
    assert (task["status"], task["revision"]) == ("cancelled", 2)
    assert await notify.email_status(email) == "cancelled"

    # The marker mail went out after the cancelled one would have: nothing reached ida.
    async def marker_sent() -> bool:
        return any(str(m["To"]) == "m@x.example" for m in read_messages(notify.sink.directory))

    await wait_until(marker_sent, 60, "the marker mail delivered")
    assert not [m for m in read_messages(notify.sink.directory) if "ida@x.example" in str(m["To"])]
