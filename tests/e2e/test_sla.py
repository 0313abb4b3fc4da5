"""The SLA clock with two notify copies: one assignment notice, one warning, one escalation and
one next-level escalation per task, not two."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from anbefal.cli.users import add as add_staff
from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import Action, Respondent, TenantSettings, action_id
from anbefal.common.kafka import Publisher
from anbefal.devstack.mailsink import MailSink, read_messages
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def call(tenant: str, name: str, answered_ago: timedelta, due_in: timedelta) -> Action:
    # The clock is driven by the due times themselves: answered long ago, due in a few seconds.
    now = datetime.now(UTC)
    response = uuid.uuid4()
    return Action(
        action_id=action_id(response, "detractor-call"),
        tenant=tenant,
        type="call_task",
        rule_id="detractor-call",
        response_event_id=response,
        response_version=1,
        kind="nps",
        score=2,
        answered_at=now - answered_ago,
        decided_at=now,
        assignee="agent@acme.example",
        assignee_role="director",
        due_at=now + due_in,
        respondent=Respondent(key=name, name=name),
    )


async def test_two_copies_warn_and_escalate_each_task_once(stack: Any, tmp_path: Path) -> None:
    sink = MailSink(tmp_path / "mail")
    sink.start()
    url = stack.new_database()
    tenant = f"sla-{uuid.uuid4().hex[:8]}"
    # The assignee has a login, so new tasks send them an assignment notice.
    await add_staff(
        url, tenant=tenant, email="agent@acme.example", name="Agent", role="agent",
        password="long enough password", locale="en",
    )  # fmt: skip
    env = stack.service_env(url, ANBEFAL_SMTP_PORT=str(sink.port), ANBEFAL_SLA_POLL_S="0.3")
    copies = [ServiceProcess("notify", env, stack.root / "logs").start() for _ in range(2)]
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="sla-test")
    await publisher.start()
    settings = TenantSettings(
        tenant=tenant, display_name="Acme", default_director="boss@acme.example",
        # The next level hears of a breach still open 6 seconds after its due time.
        escalation_next="ceo@acme.example", escalation_next_after_hours=6 / 3600,
        updated_at=datetime.now(UTC),
    )  # fmt: skip
    try:
        for copy in copies:
            await copy.wait_ready()
        await publisher.wait_ready(30)
        await publisher.send(topics.TENANTS, settings.to_bytes(), key=settings.key)
        actions = [
            call(tenant, f"Early {tenant}", timedelta(minutes=1), timedelta(seconds=4)),
            call(tenant, f"Later {tenant}", timedelta(minutes=1), timedelta(seconds=8)),
            call(tenant, f"Calm {tenant}", timedelta(hours=1), timedelta(hours=47)),
            # Assigned to an address without a login here: no assignment notice for it.
            call(tenant, f"Other {tenant}", timedelta(hours=1), timedelta(hours=47)).model_copy(
                update={"assignee": "stranger@elsewhere.example"}
            ),
        ]
        await publisher.send_many(topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in actions])

        def mails(subject_start: str) -> list[str]:
            # Only this test's tenant: other tests' tasks share the actions topic.
            return [
                str(m["To"])
                for m in read_messages(sink.directory)
                if str(m["Subject"]).startswith(subject_start) and tenant in str(m["Subject"])
            ]

        async def both_escalated_twice() -> bool:
            return len(mails("Still not called")) >= 2

        # "Later" is escalated seconds after "Early": both copies were polling all along.
        await wait_until(both_escalated_twice, 60, "both short tasks escalated to the next level")
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="director", sub="t")
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:
            r = await api.get(f"{copies[0].url}/v1/tenants/{tenant}/tasks")
        sla = {
            t["respondent"]["name"].split()[0]: (
                t["warned_at"] is not None,
                t["escalated_at"] is not None,
                t["escalated_next_at"] is not None,
            )
            for t in r.json()["tasks"]
        }
    finally:
        await publisher.stop()
        for copy in copies:
            copy.stop()
        sink.stop()
    subjects = [str(m["Subject"]) for m in read_messages(sink.directory)]
    ours = [s for s in subjects if tenant in s]
    assert sorted(s for s in ours if s.startswith("Missed")) == [
        f"Missed call-back: Early {tenant} (score 2)",
        f"Missed call-back: Later {tenant} (score 2)",
    ]
    assert sorted(s for s in ours if s.startswith("Call-back due soon")) == [
        f"Call-back due soon: Early {tenant} (score 2)",
        f"Call-back due soon: Later {tenant} (score 2)",
    ]
    assert mails("Missed call-back") == ["boss@acme.example"] * 2
    assert mails("Call-back due soon") == ["agent@acme.example"] * 2
    assert mails("Still not called") == ["ceo@acme.example"] * 2
    assert sorted(s for s in ours if s.startswith("Still not called")) == [
        f"Still not called: Early {tenant} (score 2)",
        f"Still not called: Later {tenant} (score 2)",
    ]
    # Each new task told its assignee once, though both copies consume the actions topic.
    assert mails("New call-back for you") == ["agent@acme.example"] * 3
    assert not [m for m in read_messages(sink.directory) if "stranger" in str(m["To"])]
    # The API shows the same marks.
    assert sla == {
        "Early": (True, True, True),
        "Later": (True, True, True),
        "Calm": (False, False, False),
        "Other": (False, False, False),
    }
