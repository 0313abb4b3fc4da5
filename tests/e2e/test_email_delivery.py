"""An SMTP relay that refuses the first attempts: the thank-you mail still arrives exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import Action, Respondent, action_id
from anbefal.common.kafka import Publisher
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


class FlakyRelay:
    """Answers 451 (try again later) to the first `failures` messages for `recipient`, then
    accepts. Mail to anyone else (other tests' tenants share the topic) is accepted and ignored."""

    def __init__(self, recipient: str, failures: int) -> None:
        self.recipient = recipient
        self.failures = failures
        self.attempts = 0
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if envelope.rcpt_tos != [self.recipient]:
            return "250 OK"
        self.attempts += 1
        if self.attempts <= self.failures:
            return "451 4.3.0 Temporary failure, try again"
        self.accepted.append(envelope.original_content or b"")
        return "250 OK"


async def test_a_refused_email_is_retried_and_arrives_once(stack: Any) -> None:
    recipient = f"ida-{uuid.uuid4().hex[:8]}@example.com"
    relay = FlakyRelay(recipient, failures=2)
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = stack.service_env(stack.new_database(), ANBEFAL_SMTP_PORT=str(controller.port))
    notify = ServiceProcess("notify", env, stack.root / "logs").start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="smtp-test")
    await publisher.start()
    tenant = f"mail-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    response = uuid.uuid4()
    thanks = Action(
        action_id=action_id(response, "promoter-thank-you"),
        tenant=tenant,
        type="email",
        rule_id="promoter-thank-you",
        response_event_id=response,
        response_version=1,
        kind="nps",
        score=10,
        answered_at=now,
        decided_at=now,
        assignee="director@acme.example",
        assignee_role="director",
        template="thank_you",
        respondent=Respondent(key="c-1", name="Ida", email=recipient, locale="da"),
    )
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="t")
    try:
        await notify.wait_ready()
        await publisher.wait_ready(30)
        # Delivered twice on purpose: the second must not become a second mail.
        await publisher.send_many(topics.ACTIONS, [(thanks.key, thanks.to_bytes(), None)] * 2)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:

            async def sent() -> bool:
                r = await api.get(f"{notify.url}/v1/tenants/{tenant}/emails")
                emails = r.json()["emails"]
                return len(emails) == 1 and emails[0]["status"] == "sent"

            await wait_until(sent, 60, "the email marked sent")
            (email,) = (await api.get(f"{notify.url}/v1/tenants/{tenant}/emails")).json()["emails"]
    finally:
        await publisher.stop()
        notify.stop()
        controller.stop()
    assert relay.attempts == 3
    assert len(relay.accepted) == 1
    assert email["attempts"] == 3
    assert f"Message-ID: <{thanks.action_id}@".encode() in relay.accepted[0]
    assert b"Subject: Tak fordi du vil anbefale" in relay.accepted[0]
