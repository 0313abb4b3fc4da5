"""A real team's queue in a real browser: a director's 600 tasks paging with true counts, and a
salesperson without a login completing a task through the link in their mail, on a phone."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    ViewportSize,
    expect,
)

from anbefal.cli.users import add as add_staff
from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.kafka import Publisher
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    asyncpg_dsn,
    call_task_action,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
expect.set_options(timeout=20_000)
PASSWORD = "correct horse battery"
PHONE: ViewportSize = {"width": 390, "height": 844}
SALES = "sales@partner.example"  # named by the tenant's accounts; no login
STRANGER = "someone@elsewhere.example"  # named only by the answer: nobody can send to them
TASKS = 600


def owner(n: int) -> dict[str, str]:
    kinds = [
        {"assignee": SALES, "assignee_source": "account"},
        {"assignee": "ida@acme.example", "assignee_source": "hint"},
        {"assignee": STRANGER, "assignee_source": "hint"},
    ]
    return kinds[n % 3]


@pytest.fixture(scope="module")
async def env(stack: Any) -> AsyncIterator[tuple[ServiceProcess, str, str]]:
    url = stack.new_database()
    tenant = f"big-{uuid.uuid4().hex[:8]}"
    for email, role, locale in [
        ("ida@acme.example", "agent", "en"),
        ("dorthe@acme.example", "director", "da"),
    ]:
        await add_staff(
            url, tenant=tenant, email=email, name=email, role=role, password=PASSWORD,
            locale=locale,
        )  # fmt: skip
    notify = ServiceProcess(
        "notify",
        stack.service_env(url, ANBEFAL_UI_POLL_S="0.5", ANBEFAL_SLA_POLL_S="3600"),
        stack.root / "logs",
    )
    notify.env["ANBEFAL_PUBLIC_URL"] = notify.url
    notify.start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="big-queue-test")
    await publisher.start()
    try:
        await notify.wait_ready()
        await publisher.wait_ready(30)
        actions = [call_task_action(tenant, n).model_copy(update=owner(n)) for n in range(TASKS)]
        await publisher.send_many(topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in actions])
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="agent", sub="t")
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:

            async def all_there() -> bool:
                r = await api.get(f"{notify.url}/v1/tenants/{tenant}/tasks?limit=1")
                return bool(r.json()["total"] == TASKS)

            await wait_until(all_there, 120, f"{TASKS} tasks")
        yield notify, tenant, url
    finally:
        await publisher.stop()
        notify.stop()


async def log_in(
    browser: Browser, notify: ServiceProcess, tenant: str, email: str, **options: Any
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(**options)
    page = await context.new_page()
    await page.goto(f"{notify.url}/login")
    await page.locator("#tenant").fill(tenant)
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(PASSWORD)
    await page.locator('form[action="/login"] button[type=submit]').click()
    await expect(page.locator("#queue-count")).to_be_visible()
    return context, page


async def mailed_link(database_url: str, tenant: str, respondent: str) -> str:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        body = await conn.fetchval(
            "SELECT body FROM notify.emails WHERE tenant = $1 AND template = 'assignment' "
            "AND recipient = $2 AND subject LIKE '%' || $3 || ' %'",
            tenant, SALES, respondent,
        )  # fmt: skip
    finally:
        await conn.close()
    assert body is not None
    found = re.search(r"(https?://\S+/t/\S+)", body)
    assert found, body
    return found.group(1)


async def test_a_directors_team_queue_of_600_pages_with_true_counts(
    env: tuple[ServiceProcess, str, str], browser: Browser, artifacts_dir: Path
) -> None:
    notify, tenant, _ = env
    context, page = await log_in(browser, notify, tenant, "dorthe@acme.example")
    await page.get_by_role("link", name="Teamets kø").click()
    await expect(page.get_by_role("status")).to_have_text("600 opgaver i køen")
    # Kunde 0, 1 and 2 were due 2, 1 and 0 hours after they were made: overdue now.
    await expect(page.locator("#queue-states")).to_have_text("600 åbne · 3 overskredne · 0 taget")
    rows = page.locator("tbody tr[data-task-id]")

    def row(name: str) -> Locator:
        return rows.filter(has=page.get_by_role("link", name=name, exact=True))

    await expect(rows).to_have_count(50)
    await expect(rows.first).to_contain_text("Kunde 0")
    await expect(row("Kunde 0")).to_contain_text(f"tildelt {SALES} (intet login)")
    await expect(row("Kunde 2")).to_contain_text(
        f"tildelt {STRANGER} (intet login, ligger i fælleskøen)"
    )
    await expect(row("Kunde 1")).to_contain_text("tildelt ida@acme.example")
    await expect(row("Kunde 1")).not_to_contain_text("intet login")
    await page.screenshot(path=str(artifacts_dir / "queue-600-team-da.png"), full_page=False)

    await page.get_by_role("link", name="Næste side").click()
    await expect(rows).to_have_count(50)
    await expect(rows.first).to_contain_text("Kunde 50")
    await expect(page.get_by_role("status")).to_have_text("600 opgaver i køen")
    # A claim elsewhere moves the true numbers on this page, live.
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="agent", sub="ida@acme.example")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:
        listed = await api.get(f"{notify.url}/v1/tenants/{tenant}/tasks?limit=1")
        first = listed.json()["tasks"][0]["id"]
        claimed = await api.post(f"{notify.url}/v1/tenants/{tenant}/tasks/{first}/claim")
        assert claimed.status_code == 200
    await expect(page.locator("#queue-states")).to_have_text("599 åbne · 3 overskredne · 1 taget")
    await page.screenshot(path=str(artifacts_dir / "queue-600-team-da-page-2.png"))
    # Twelve pages in all; the last one has no next page.
    for _ in range(10):
        await page.get_by_role("link", name="Næste side").click()
    await expect(rows).to_have_count(50)
    await expect(page.get_by_role("link", name="Næste side")).to_be_hidden()
    await page.get_by_role("link", name="Første side").click()
    await expect(rows.first).to_contain_text("Kunde 0")
    await context.close()


@pytest.mark.parametrize(
    ("browser_locale", "respondent", "words"),
    [
        ("en-GB", "Kunde 3", {"claim": "Claim", "outcome": "Reached", "note": "Note",
                              "complete": "Complete", "done": "Thank you. The task is done."}),
        ("da-DK", "Kunde 6", {"claim": "Tag opgaven", "outcome": "Fik fat i kunden",
                              "note": "Note", "complete": "Afslut",
                              "done": "Tak. Opgaven er afsluttet."}),
    ],
)  # fmt: skip
async def test_a_salesperson_completes_a_task_through_the_link_in_the_mail_on_a_phone(
    env: tuple[ServiceProcess, str, str],
    browser: Browser,
    artifacts_dir: Path,
    browser_locale: str,
    respondent: str,
    words: dict[str, str],
) -> None:
    notify, tenant, database_url = env
    link = await mailed_link(database_url, tenant, respondent)
    context = await browser.new_context(viewport=PHONE, locale=browser_locale, is_mobile=True)
    page = await context.new_page()
    await page.goto(link)
    await expect(page.get_by_role("heading", name=re.compile(respondent))).to_be_visible()
    await expect(page.get_by_role("link", name=re.compile(r"\+45 12 34 56"))).to_be_visible()
    lang = browser_locale[:2]
    await page.screenshot(path=str(artifacts_dir / f"task-link-phone-{lang}.png"), full_page=True)
    await page.get_by_role("button", name=words["claim"]).click()
    await expect(page.locator("#status")).to_have_text("claimed" if lang == "en" else "taget")
    await page.get_by_label(words["outcome"]).check()
    await page.get_by_label(words["note"], exact=True).fill("Talked to them; all sorted.")
    await page.screenshot(
        path=str(artifacts_dir / f"task-link-phone-{lang}-claimed.png"), full_page=True
    )
    await page.get_by_role("button", name=words["complete"]).click()
    await expect(page.get_by_role("status")).to_have_text(words["done"])
    again = await page.goto(link)
    assert again is not None
    assert again.status == 404  # the link closed with the task
    await context.close()


@pytest.mark.parametrize(
    ("email", "lang", "status_word"),
    [("ida@acme.example", "en", "(open|claimed)"), ("dorthe@acme.example", "da", "(åben|taget)")],
)
async def test_the_queue_is_cards_on_a_phone(
    env: tuple[ServiceProcess, str, str],
    browser: Browser,
    artifacts_dir: Path,
    email: str,
    lang: str,
    status_word: str,
) -> None:
    notify, tenant, _ = env
    context, page = await log_in(browser, notify, tenant, email, viewport=PHONE, is_mobile=True)
    cards = page.locator("tbody tr[data-task-id]")
    await expect(cards.first).to_be_visible()
    # Nothing wider than the phone: the status is on screen, not scrolled off to the right.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    status = cards.first.locator("td[data-label]").last
    await expect(status).to_contain_text(re.compile(status_word))
    box = await status.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"]
    await page.screenshot(path=str(artifacts_dir / f"queue-phone-{lang}.png"))
    # The task page with one thumb: the claim button spans the screen and is easy to hit.
    await cards.nth(1).get_by_role("link").click()  # Kunde 1: open (Kunde 0 was claimed)
    claim = page.locator("form[action$='/claim'] button")
    await expect(claim).to_be_visible()
    button = await claim.bounding_box()
    assert button is not None
    assert button["width"] >= PHONE["width"] * 0.8
    assert button["height"] >= 44
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.screenshot(path=str(artifacts_dir / f"task-phone-{lang}.png"), full_page=True)
    await context.close()
