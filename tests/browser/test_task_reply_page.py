"""The task page's context for the call, and a reply sent from it to the respondent, in a real
browser (Debian's Chromium, Playwright) against notify with a real SMTP conversation (the mail
sink): in Danish at desktop width and in English at phone width."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
)

from anbefal.cli.users import add as add_staff
from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import Action, Respondent, TenantSettings
from anbefal.common.kafka import Publisher
from anbefal.devstack.mailsink import MailSink, read_messages
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, call_task_action, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
expect.set_options(timeout=20_000)

PASSWORD = "correct horse battery"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
# (login, name, locale): a Danish agent in Copenhagen, an English one.
STAFF = [("mette@acme.example", "Mette", "da"), ("ian@acme.example", "Ian", "en")]


def _action(n: int, key: str, email: str, locale: str, owner: str, days_ago: int) -> Action:
    base = call_task_action("t", n)
    return base.model_copy(
        update={
            "respondent": Respondent(
                key=key, name=f"Kunde {key}", email=email, phone=f"+45 20 30 40 {n:02d}",
                locale=locale, account_id="FIRMA-7",
            ),
            "segments": {"afdeling": "Support", "land": "DK"},
            "answered_at": base.answered_at - timedelta(days=days_ago),
            "assignee": owner,
            "assignee_source": "account",
            "due_clock": "business_hours",
            "due_at": datetime.now(UTC) + timedelta(hours=20),
        }
    )  # fmt: skip


def actions(tenant: str) -> list[Action]:
    """Mette's Danish respondent (with an earlier answer), Ian's English one, at one account."""
    made = [
        _action(1, "dk-1", "jens@kunde.example", "da", "mette@acme.example", 0),
        _action(2, "dk-1", "jens@kunde.example", "da", "ian@acme.example", 35),
        _action(3, "en-1", "emma@customer.example", "en", "ian@acme.example", 2),
    ]
    return [a.model_copy(update={"tenant": tenant}) for a in made]


@pytest.fixture
async def reply_env(
    stack: Any, tmp_path: Path
) -> AsyncIterator[tuple[ServiceProcess, str, MailSink]]:
    url = stack.new_database()
    tenant = f"rep-{uuid.uuid4().hex[:8]}"
    for email, name, locale in STAFF:
        await add_staff(
            url, tenant=tenant, email=email, name=name, role="agent", password=PASSWORD,
            locale=locale, time_zone="Europe/Copenhagen" if locale == "da" else "Europe/London",
        )  # fmt: skip
    sink = MailSink(tmp_path / "mail")
    sink.start()
    env = stack.service_env(url, ANBEFAL_SMTP_PORT=str(sink.port), ANBEFAL_SLA_POLL_S="3600")
    notify = ServiceProcess("notify", env, stack.root / "logs")
    notify.env["ANBEFAL_PUBLIC_URL"] = notify.url
    notify.start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="reply-test")
    await publisher.start()
    try:
        await notify.wait_ready()
        await publisher.wait_ready(30)
        settings = TenantSettings(
            tenant=tenant, display_name="Acme A/S", locale="da", sender_name="Kundeservice Acme",
            sender_email="kundeservice@acme.example", updated_at=datetime.now(UTC),
        )  # fmt: skip
        await publisher.send_many(topics.TENANTS, [(settings.key, settings.to_bytes(), None)])
        made = actions(tenant)
        await publisher.send_many(topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in made])
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="agent", sub="t")
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:

            async def three() -> bool:
                r = await api.get(f"{notify.url}/v1/tenants/{tenant}/tasks")
                return len(r.json()["tasks"]) == 3

            # A new consumer group reads the actions topic from its start (earlier tests' too).
            await wait_until(three, 240, "three tasks")
        yield notify, tenant, sink
    finally:
        await publisher.stop()
        notify.stop()
        sink.stop()


async def log_in(
    browser: Browser, notify: ServiceProcess, tenant: str, email: str, viewport: ViewportSize
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await page.goto(f"{notify.url}/login")
    await page.get_by_label("Organisation").fill(tenant)
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#queue-count")).to_be_visible()
    return context, page


async def received(sink: MailSink, recipient: str) -> EmailMessage:
    """The one mail the sink got over SMTP for `recipient`, once it is there."""

    def mails() -> list[EmailMessage]:
        return [m for m in read_messages(sink.directory) if str(m["To"]) == recipient]

    async def arrived() -> bool:
        return len(mails()) > 0

    await wait_until(arrived, 60, f"a mail to {recipient} in the sink")
    found = mails()
    assert len(found) == 1, [str(m["Subject"]) for m in found]
    return found[0]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # lines on the wire end in CRLF


async def test_a_danish_agent_sees_the_context_and_replies_at_desktop_width(
    reply_env: tuple[ServiceProcess, str, MailSink], browser: Browser, artifacts_dir: Path
) -> None:
    notify, tenant, sink = reply_env
    context, page = await log_in(browser, notify, tenant, "mette@acme.example", DESKTOP)
    await page.locator("tr", has_text="Kunde dk-1").get_by_role("link").first.click()
    facts = page.locator("#context")
    await expect(facts.get_by_role("heading", name="Om opkaldet")).to_be_visible()
    await expect(page.locator("#task-type")).to_have_text("Opkald")
    await expect(page.locator("#account")).to_have_text("FIRMA-7")
    await expect(page.locator("#segments")).to_have_text("afdeling: Support · land: DK")
    await expect(page.locator("#respondent-language")).to_have_text("dansk")
    await expect(page.locator("#rule")).to_contain_text("Reglen “detractor-call”: NPS-score 1")
    await expect(page.locator("#rule")).to_contain_text("Ansvarlig fundet via kundens konto")
    await expect(page.locator("#rule")).to_contain_text("Fristen tælles i arbejdstiden")
    # Times in Mette's zone, named.
    await expect(page.locator("#history")).to_contain_text(" kl. ")
    await expect(page.locator("#history")).to_contain_text("CET")
    # The respondent's earlier answer, and the account's other respondent, newest first.
    await expect(page.locator("#history tbody tr")).to_have_count(1)
    await expect(page.locator("#account-history tbody tr")).to_have_count(1)
    await expect(page.locator("#account-history")).to_contain_text("Kunde en-1")
    await page.screenshot(path=str(artifacts_dir / "task-context-da.png"), full_page=True)

    # The draft: Danish (the respondent's language), signed with the tenant's sender name.
    await expect(page.locator("#reply-recipient")).to_have_text("Til jens@kunde.example")
    await expect(page.get_by_label("Emne")).to_have_value("Tak for dit svar til Acme A/S")
    message = page.get_by_label("Besked")
    await expect(message).to_have_value(
        "Kære Kunde dk-1\n\nTak for dit svar, og tak fordi du tog dig tid til at fortælle os, "
        "hvordan vi klarer os.\n\n\n\nVenlig hilsen\nKundeservice Acme\n"
    )
    await page.get_by_label("Emne").fill("Om din oplevelse med support")
    await message.fill(
        "Kære Jens\n\nTak for snakken i dag. Vi har rettet fejlen på din konto.\n\n"
        "Venlig hilsen\nMette, Kundeservice Acme"
    )
    await page.screenshot(path=str(artifacts_dir / "task-reply-form-da.png"), full_page=True)
    await page.get_by_role("button", name="Send mail").click()
    await expect(page.locator("#replies")).to_contain_text(
        "mette@acme.example sendte “Om din oplevelse med support”"
    )

    mail = await received(sink, "jens@kunde.example")
    assert str(mail["Subject"]) == "Om din oplevelse med support"
    assert str(mail["From"]) == "Kundeservice Acme <kundeservice@acme.example>"
    assert str(mail["Reply-To"]) == "mette@acme.example"
    assert mail["List-Unsubscribe"]
    body = text_of(mail)
    assert "Vi har rettet fejlen på din konto." in body
    assert "Afmeld her:" in body
    # Once sent, the task page says so.
    await page.reload()
    await expect(page.locator("#replies .mail-status")).to_have_text("sendt")
    await page.screenshot(path=str(artifacts_dir / "task-reply-sent-da.png"), full_page=True)
    await context.close()


async def test_an_english_agent_replies_by_keyboard_at_phone_width(
    reply_env: tuple[ServiceProcess, str, MailSink], browser: Browser, artifacts_dir: Path
) -> None:
    notify, tenant, sink = reply_env
    context, page = await log_in(browser, notify, tenant, "ian@acme.example", PHONE)
    await page.get_by_role("link", name="Kunde en-1").click()
    await expect(page.locator("#task-type")).to_have_text("Call-back")
    await expect(page.locator("#respondent-language")).to_have_text("English")
    await expect(page.locator("#rule")).to_contain_text("Due time counted in business hours")
    # Ian's own zone, London's; the account's earlier answers as cards that fit the screen.
    await expect(page.locator("#account-history")).to_contain_text("GMT")
    await expect(page.locator("#account-history")).to_contain_text("Kunde dk-1")
    status = page.locator("#account-history td[data-label='Status']").first
    await expect(status).to_be_visible()
    cell = await status.bounding_box()
    assert cell is not None
    assert cell["x"] + cell["width"] <= PHONE["width"]
    await page.screenshot(path=str(artifacts_dir / "task-context-en-phone.png"), full_page=True)

    await expect(page.get_by_label("Subject")).to_have_value(
        "Thank you for your answer to Acme A/S"
    )
    await expect(page.get_by_label("Message")).to_have_value(
        "Dear Kunde en-1\n\nThank you for your answer, and for taking the time to tell us how "
        "we are doing.\n\n\n\nKind regards\nKundeservice Acme\n"
    )
    # Keyboard only: write into the message, Tab to the button, Enter.
    await page.get_by_label("Message").focus()
    await page.keyboard.press("Control+End")
    await page.keyboard.type("\nP.S. Your refund is on its way.")
    await page.keyboard.press("Tab")
    send = page.get_by_role("button", name="Send email")
    await expect(send).to_be_focused()
    # The button fits the phone's width.
    box = await send.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    await page.keyboard.press("Enter")
    await expect(page.locator("#replies")).to_contain_text(
        "ian@acme.example sent “Thank you for your answer to Acme A/S”"
    )
    mail = await received(sink, "emma@customer.example")
    assert str(mail["Subject"]) == "Thank you for your answer to Acme A/S"
    assert str(mail["Reply-To"]) == "ian@acme.example"
    body = text_of(mail)
    assert body.startswith("Dear Kunde en-1\n")
    assert "P.S. Your refund is on its way." in body
    assert "No more mail from us? Unsubscribe here:" in body
    await page.reload()
    await expect(page.locator("#replies .mail-status")).to_have_text("sent")
    await page.screenshot(path=str(artifacts_dir / "task-reply-sent-en-phone.png"), full_page=True)
    await context.close()
