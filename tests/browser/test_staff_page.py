"""The staff page in a real browser: Debian's Chromium driven by Playwright, no browser download."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    expect,
)

from anbefal.cli.users import add as add_staff
from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import Action
from anbefal.common.kafka import Publisher
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    call_task_action,
    free_port,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
# Each expectation still waits for its condition and no longer; the bound is generous because a
# form post, its redirect and the next page can take over Playwright's default 5 s on a loaded
# machine (the suite shares two cores with the other services' tests).
expect.set_options(timeout=20_000)

PASSWORD = "correct horse battery"


# Who works the queue in this test, and in which language their page is.
STAFF = [
    ("ida@acme.example", "Ida", "agent", "en"),
    ("ole@acme.example", "Ole", "agent", "en"),
    ("dorthe@acme.example", "Dorthe", "director", "da"),
]


def actions(tenant: str) -> list[Action]:
    """Kunde 0 and 1 for Ida, Kunde 2 for nobody (so both agents see it), Kunde 3 for Ole, and
    an earlier answer of Kunde 0 that became a task for Ole: Kunde 0's history."""
    base = [call_task_action(tenant, n) for n in range(4)]
    owners = ["ida@acme.example", "ida@acme.example", None, "ole@acme.example"]
    tasks = [a.model_copy(update={"assignee": o}) for a, o in zip(base, owners, strict=True)]
    first = base[0]
    earlier = call_task_action(tenant, 10).model_copy(
        update={
            "respondent": first.respondent,
            "comment": "The invoice was wrong",
            "answered_at": first.answered_at - timedelta(days=40),
            "assignee": "ole@acme.example",
        }
    )
    return [*tasks, earlier]


@pytest.fixture
async def page_env(stack: Any) -> AsyncIterator[tuple[ServiceProcess, str]]:
    url = stack.new_database()
    tenant = f"ui-{uuid.uuid4().hex[:8]}"
    for email, name, role, locale in STAFF:
        await add_staff(
            url, tenant=tenant, email=email, name=name, role=role, password=PASSWORD,
            locale=locale, time_zone="Europe/Copenhagen" if locale == "da" else None,
        )  # fmt: skip
    # A quick live update, so the test sees a claim leave another queue within seconds.
    env = stack.service_env(url, ANBEFAL_UI_POLL_S="0.5")
    notify = ServiceProcess("notify", env, stack.root / "logs").start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="ui-test")
    await publisher.start()
    try:
        await notify.wait_ready()
        await publisher.wait_ready(30)
        await publisher.send_many(
            topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in actions(tenant)]
        )
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="agent", sub="t")
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:

            async def five() -> bool:
                r = await api.get(f"{notify.url}/v1/tenants/{tenant}/tasks")
                return len(r.json()["tasks"]) == 5

            await wait_until(five, 60, "five tasks")
        yield notify, tenant
    finally:
        await publisher.stop()
        notify.stop()


async def log_in(
    browser: Browser, notify: ServiceProcess, tenant: str, email: str
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context()  # own cookies: one person per context
    page = await context.new_page()
    await page.goto(f"{notify.url}/login")
    await page.get_by_label("Organisation", exact=True).fill(tenant)
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.locator("#queue-count")).to_be_visible()
    return context, page


async def test_log_in_claim_and_complete_a_task(
    page_env: tuple[ServiceProcess, str], browser: Browser, artifacts_dir: Path
) -> None:
    notify, tenant = page_env
    page = await browser.new_page()

    await page.goto(f"{notify.url}/queue")
    await expect(
        page.get_by_role("heading", name="Log in", exact=True)
    ).to_be_visible()  # not logged in yet
    await page.get_by_label("Organisation", exact=True).fill(tenant)
    await page.get_by_label("Email", exact=True).fill("ida@acme.example")
    await page.get_by_label("Password", exact=True).fill("wrong password!")
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong organisation, email or password")

    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_role("heading", name="Call-back queue")).to_be_visible()
    # Ida's queue: her two tasks and the unassigned one, not Ole's; no team queue for an agent.
    rows = page.locator("tbody tr[data-task-id]")
    await expect(rows).to_have_count(3)
    await expect(page.get_by_role("link", name="Kunde 3")).to_have_count(0)
    await expect(page.get_by_role("link", name="Team queue")).to_have_count(0)
    await expect(rows.first).to_contain_text("Overdue")
    await expect(page.get_by_role("status")).to_have_text("3 tasks in the queue")
    await page.screenshot(path=str(artifacts_dir / "staff-queue.png"), full_page=True)

    await page.get_by_role("link", name="Kunde 0").click()
    await expect(page.get_by_role("link", name="Call +45 12 34 56 00")).to_be_visible()
    # The respondent's earlier answer, which became a task for Ole 40 days ago.
    history = page.locator("#history tbody tr")
    await expect(history).to_have_count(1)
    await expect(history).to_contain_text("The invoice was wrong")
    # Keyboard only: focus the button and press Enter.
    await page.get_by_role("button", name="Claim").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#status")).to_have_text("claimed")

    await page.get_by_label("Resolved").check()
    await page.get_by_label("Note", exact=True).fill("Called her; the login problem is fixed.")
    await page.screenshot(path=str(artifacts_dir / "staff-task-claimed.png"), full_page=True)
    await page.get_by_role("button", name="Complete").click()
    await expect(page.locator("#status")).to_have_text("done")
    await expect(page.locator("#notes")).to_contain_text(
        "Resolved: Called her; the login problem is fixed."
    )
    await expect(page.locator("#notes")).not_to_contain_text("[resolved]")
    await page.screenshot(path=str(artifacts_dir / "staff-task-done.png"), full_page=True)

    # The page and the API agree, and the queue no longer shows the finished task.
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="agent", sub="t")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:
        tasks = (await api.get(f"{notify.url}/v1/tenants/{tenant}/tasks")).json()["tasks"]
    done = [t for t in tasks if t["status"] == "done"]
    assert [(t["claimed_by"], t["outcome"]) for t in done] == [("ida@acme.example", "resolved")]
    await page.get_by_role("link", name="Back to the queue").click()
    await expect(page.locator("tbody tr[data-task-id]")).to_have_count(2)

    # An agent asking for the team queue by URL is refused.
    refused = await page.goto(f"{notify.url}/queue?view=team")
    assert refused is not None
    assert refused.status == 403
    await expect(page.get_by_role("alert")).to_have_text(
        "Only directors and admins see the team queue."
    )


async def test_a_claim_leaves_the_other_agents_queue_live(
    page_env: tuple[ServiceProcess, str], browser: Browser, artifacts_dir: Path
) -> None:
    notify, tenant = page_env
    ida_context, ida = await log_in(browser, notify, tenant, "ida@acme.example")
    ole_context, ole = await log_in(browser, notify, tenant, "ole@acme.example")
    ole_rows = ole.locator("tbody tr[data-task-id]")
    # Ole's queue: the unassigned Kunde 2, his Kunde 3 and Kunde 0's earlier answer.
    await expect(ole_rows).to_have_count(3)
    await expect(ole.get_by_role("link", name="Kunde 2")).to_be_visible()
    # A mark on Ole's page that a reload would wipe.
    await ole.evaluate("window.notReloaded = true")

    await ida.get_by_role("link", name="Kunde 2").click()
    await ida.get_by_role("button", name="Claim").click()
    await expect(ida.locator("#status")).to_have_text("claimed")
    await ida.get_by_label("Add a note").fill("Voicemail, trying again after lunch")
    await ida.get_by_role("button", name="Save note").click()
    await expect(ida.locator("#notes")).to_contain_text("Voicemail, trying again after lunch")

    await expect(ole.get_by_role("link", name="Kunde 2")).to_have_count(0)
    await expect(ole_rows).to_have_count(2)
    await expect(ole.get_by_role("status")).to_have_text("2 tasks in the queue")
    assert await ole.evaluate("window.notReloaded === true")
    await ole.screenshot(path=str(artifacts_dir / "staff-queue-live-update.png"), full_page=True)
    await ida_context.close()
    await ole_context.close()


async def test_a_director_works_the_team_queue_in_danish(
    page_env: tuple[ServiceProcess, str], browser: Browser, artifacts_dir: Path
) -> None:
    notify, tenant = page_env
    context, page = await log_in(browser, notify, tenant, "dorthe@acme.example")
    # Her own queue: only the unassigned Kunde 2 (nothing is assigned to her).
    await expect(page.get_by_role("heading", name="Opfølgningskø")).to_be_visible()
    await expect(page.get_by_role("heading", name="Min kø")).to_be_visible()
    await expect(page.locator("tbody tr[data-task-id]")).to_have_count(1)
    await page.get_by_role("link", name="Teamets kø").click()
    await expect(page.get_by_role("heading", name="Teamets kø")).to_be_visible()
    team = page.locator("tbody tr[data-task-id]")
    await expect(team).to_have_count(5)
    await expect(page.get_by_role("status")).to_have_text("5 opgaver i køen")
    await expect(team.filter(has_text="Kunde 3")).to_contain_text("ole@acme.example")
    # Her own time zone, named, with the due time in words, never UTC.
    await expect(team.first).to_contain_text("CET")
    await expect(team.first).to_contain_text(re.compile(r"(i dag|i går|sidste \w+) kl\. \d\d:\d\d"))
    await expect(page.locator("#queue-rows")).not_to_contain_text("UTC")
    await page.screenshot(path=str(artifacts_dir / "staff-team-queue-da.png"), full_page=True)

    # Reassign Ole's task to Ida, with a note.
    await page.get_by_role("link", name="Kunde 3").click()
    await page.get_by_label("Overdrag til (e-mail)").fill("ida@acme.example")
    await page.get_by_label("Note (valgfri)").fill("Ole er syg i dag")
    await page.get_by_role("button", name="Overdrag").click()
    await expect(page.locator("#assignee")).to_have_text("ida@acme.example")
    await expect(page.locator("#notes")).to_contain_text("Ole er syg i dag")

    # Complete Kunde 0 (one of two tasks of that respondent), then reopen it from its page.
    await page.get_by_role("link", name="Tilbage til køen").click()
    await page.get_by_role("link", name="Teamets kø").click()
    await page.locator("tr", has_text="Slow support, case 0").get_by_role("link").click()
    await page.get_by_role("button", name="Tag opgaven").click()
    await page.get_by_label("Telefonsvarer").check()
    # A note of blanks passes the browser's check, not ours: the reason comes in Danish.
    await page.get_by_label("Note", exact=True).fill("   ")
    await page.get_by_role("button", name="Afslut").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Skriv en note om, hvad der blev sagt eller gjort."
    )
    await page.get_by_label("Telefonsvarer").check()
    await page.get_by_label("Note", exact=True).fill("Lagt besked")
    await page.get_by_role("button", name="Afslut").click()
    await expect(page.locator("#status")).to_have_text("afsluttet")
    await expect(page.locator("#history")).to_contain_text("The invoice was wrong")
    await page.get_by_label("Hvorfor genåbne den?").fill("Kunden ringede tilbage")
    await page.get_by_role("button", name="Genåbn").click()
    await expect(page.locator("#status")).to_have_text("åben")
    await expect(page.locator("#notes")).to_contain_text("Kunden ringede tilbage")
    await page.screenshot(path=str(artifacts_dir / "staff-task-reopened-da.png"), full_page=True)

    # The API saw every change the page made.
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="director", sub="t")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:
        tasks = (await api.get(f"{notify.url}/v1/tenants/{tenant}/tasks")).json()["tasks"]
    by_comment = {t["comment"]: t for t in tasks}
    assert by_comment["Slow support, case 3"]["assignee"] == "ida@acme.example"
    reopened = by_comment["Slow support, case 0"]
    assert (reopened["status"], reopened["outcome"], reopened["claimed_by"]) == ("open", None, None)
    await context.close()


def serve(html: str) -> Callable[[Route], Awaitable[None]]:
    async def fulfil(route: Route) -> None:
        await route.fulfill(body=html, content_type="text/html")

    return fulfil


async def test_a_form_on_another_origin_cannot_act_for_a_logged_in_agent(
    page_env: tuple[ServiceProcess, str], browser: Browser, artifacts_dir: Path
) -> None:
    notify, tenant = page_env
    context, page = await log_in(browser, notify, tenant, "ida@acme.example")
    task_link = page.get_by_role("link", name="Kunde 2")
    task_id = str(await task_link.get_attribute("href")).rpartition("/")[2]
    # Another port of the same host: the same site, so Chromium sends the SameSite=Lax cookie
    # with the forged POSTs; only the server's origin and token checks refuse them.
    evil = f"http://127.0.0.1:{free_port()}"
    forms = {
        "claim": f'<form method="post" action="{notify.url}/tasks/{task_id}/claim">'
        '<input name="csrf" value="guessed"></form>',
        "logout": f'<form method="post" action="{notify.url}/logout"></form>',
    }
    for name, form in forms.items():
        html = f"<!doctype html><body>{form}<script>document.forms[0].submit()</script>"
        await page.route(f"{evil}/{name}", serve(html))
        async with page.expect_response(lambda r: r.url.startswith(notify.url)) as answer:
            await page.goto(f"{evil}/{name}")
        assert (await answer.value).status == 403
        await expect(page.get_by_role("alert")).to_contain_text("did not come from this page")
    await page.screenshot(path=str(artifacts_dir / "staff-forged-form-refused.png"))

    # Still logged in, the task still open; from the real page the same claim works.
    await page.goto(f"{notify.url}/tasks/{task_id}")
    await expect(page.locator("#status")).to_have_text("open")
    await page.get_by_role("button", name="Claim").click()
    await expect(page.locator("#status")).to_have_text("claimed")
    await context.close()
