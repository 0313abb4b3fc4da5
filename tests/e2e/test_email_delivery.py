"""Email end to end: a relay refusing the first attempts still gets the mail exactly once; an
unsubscribe link puts the address on the suppression list and the worker honours it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import Action, Respondent, TenantSettings, action_id
from anbefal.common.kafka import Publisher
from anbefal.devstack.mailsink import MailSink, read_messages
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    asyncpg_dsn,
    free_port,
    wait_until,
)

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


def email_action(tenant: str, recipient: str, template: str, locale: str = "da") -> Action:
    """An email action to a respondent, as closed_loop publishes it."""
    now = datetime.now(UTC)
    response = uuid.uuid4()
    return Action(
        action_id=action_id(response, f"rule-{template}"),
        tenant=tenant,
        type="email",
        rule_id=f"rule-{template}",
        response_event_id=response,
        response_version=1,
        kind="nps",
        score=10 if template == "thank_you" else 6,
        answered_at=now,
        decided_at=now,
        assignee="director@acme.example",
        assignee_role="director",
        template=template,
        respondent=Respondent(key="c-1", name="Ida", email=recipient, locale=locale),
    )


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
    thanks = email_action(tenant, recipient, "thank_you")
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


async def test_an_unsubscribed_address_gets_no_more_mail(stack: Any, tmp_path: Path) -> None:
    sink = MailSink(tmp_path / "mail")
    sink.start()
    env = stack.service_env(stack.new_database(), ANBEFAL_SMTP_PORT=str(sink.port))
    notify = ServiceProcess("notify", env, stack.root / "logs")
    # The links in the mail must point at this very process.
    notify.env["ANBEFAL_PUBLIC_URL"] = notify.url
    notify.start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="unsubscribe-test")
    await publisher.start()
    tenant = f"unsub-{uuid.uuid4().hex[:8]}"
    recipient = f"Ida.{uuid.uuid4().hex[:8]}@Example.com"  # mixed case: matched regardless
    settings = TenantSettings(tenant=tenant, display_name="Acme A/S", updated_at=datetime.now(UTC))
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="t")
    api = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def received() -> list[EmailMessage]:
        return [m for m in read_messages(sink.directory) if str(m["To"]) == recipient]

    async def emails() -> list[dict[str, Any]]:
        r = await api.get(f"{notify.url}/v1/tenants/{tenant}/emails")
        result: list[dict[str, Any]] = r.json()["emails"]
        return result

    try:
        await notify.wait_ready()
        await publisher.wait_ready(30)
        await publisher.send(topics.TENANTS, settings.to_bytes(), key=settings.key)

        async def tenant_known() -> bool:
            # Tenants and actions are separate topics, consumed independently: the page names
            # the tenant, so let notify have its settings before the mail goes out.
            conn = await asyncpg.connect(asyncpg_dsn(env["ANBEFAL_DATABASE_URL"]))
            try:
                row = await conn.fetchval("SELECT 1 FROM notify.tenants WHERE tenant = $1", tenant)
            finally:
                await conn.close()
            return row is not None

        await wait_until(tenant_known, 60, "notify has the tenant's settings")
        thanks = email_action(tenant, recipient, "thank_you")
        await publisher.send(topics.ACTIONS, thanks.to_bytes(), key=thanks.key)

        async def thanked() -> bool:
            return len(received()) == 1

        await wait_until(thanked, 60, "the thank-you mail in the sink")
        (mail,) = received()
        body = mail.get_content()
        link = re.search(r"Afmeld her: (\S+)", body)
        assert link, body
        url = link.group(1)
        assert url.startswith(f"{notify.url}/unsubscribe/")
        assert str(mail["List-Unsubscribe"]) == f"<{url}>"
        assert str(mail["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"

        async with httpx.AsyncClient(timeout=30) as browser:
            # Opening the link only asks (mail scanners open links); it is in the mail's language.
            page = await browser.get(url)
            assert page.status_code == 200
            assert f"Stop alle mails fra Acme A/S til {recipient.lower()}?" in page.text
            # A link whose signature does not match is refused and suppresses nobody.
            forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
            assert (await browser.post(forged)).status_code == 404
            done = await browser.post(url, data={"List-Unsubscribe": "One-Click"})
            assert done.status_code == 200
            assert "sender ikke flere mails" in done.text

        ask_why = email_action(tenant, recipient, "ask_why", locale="en")
        await publisher.send(topics.ACTIONS, ask_why.to_bytes(), key=ask_why.key)

        async def suppressed() -> bool:
            return any(e["status"] == "suppressed" for e in await emails())

        await wait_until(suppressed, 60, "the second mail marked suppressed")
        by_template = {e["template"]: e["status"] for e in await emails()}
    finally:
        await api.aclose()
        await publisher.stop()
        notify.stop()
        sink.stop()
    assert by_template == {"thank_you": "sent", "ask_why": "suppressed"}
    assert len(received()) == 1


async def test_mail_to_one_address_is_capped_per_day_and_the_log_says_why(stack: Any) -> None:
    sink_relay = FlakyRelay("nobody@example.com", failures=0)
    controller = Controller(sink_relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = stack.service_env(
        stack.new_database(),
        ANBEFAL_SMTP_PORT=str(controller.port),
        ANBEFAL_EMAIL_MAX_PER_RECIPIENT_PER_DAY="2",
    )
    notify = ServiceProcess("notify", env, stack.root / "logs").start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="cap-test")
    await publisher.start()
    tenant = f"cap-{uuid.uuid4().hex[:8]}"
    victim = f"victim-{uuid.uuid4().hex[:8]}@example.com"
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="t")
    try:
        await notify.wait_ready()
        await publisher.wait_ready(30)
        # Three answers naming the same address (an attacker's flood), one mail each.
        floods = [email_action(tenant, victim, "thank_you") for _ in range(3)]
        await publisher.send_many(topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in floods])
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:

            async def settled() -> bool:
                r = await api.get(f"{notify.url}/v1/tenants/{tenant}/emails")
                emails = r.json()["emails"]
                return len(emails) == 3 and all(e["status"] != "pending" for e in emails)

            await wait_until(settled, 60, "every mail sent or held back")
            emails = (await api.get(f"{notify.url}/v1/tenants/{tenant}/emails")).json()["emails"]
            metrics = (await api.get(f"{notify.metrics_url}/metrics")).text
    finally:
        await publisher.stop()
        notify.stop()
        controller.stop()
    statuses = sorted(e["status"] for e in emails)
    assert statuses == ["sent", "sent", "skipped"]
    (skipped,) = [e for e in emails if e["status"] == "skipped"]
    assert "2 mails a day" in skipped["last_error"]
    assert 'anbefal_emails_capped_total{kind="thank_you"}' in metrics
