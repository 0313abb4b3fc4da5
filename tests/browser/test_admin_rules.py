"""The admin's rules and accounts pages in a real browser (Debian's Chromium) over closed_loop
and notify: a rule edited in the form, its dry run previewed (the same counts as closed_loop's
dry run API for the same proposal), saved as a new version that then routes a fresh answer; a
CSV file with a bad row refused row by row and nothing loaded, then a good one loaded and shown.
English and Danish, at phone width."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from anbefal.cli.users import add as add_staff
from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import Respondent, Source, SurveyResponse, response_event_id
from anbefal.common.kafka import Publisher
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, asyncpg_dsn, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
expect.set_options(timeout=20_000)

PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
STAFF = [("ada@acme.example", "admin", "en"), ("bo@acme.example", "admin", "da"),
         ("ida@acme.example", "agent", "en")]  # fmt: skip


@dataclass
class System:
    tenant: str
    database_url: str
    notify: ServiceProcess
    closed_loop: ServiceProcess
    publisher: Publisher

    def api(self, service: ServiceProcess) -> httpx.AsyncClient:
        token = issue_token(TEST_JWT_SECRET, tenant=self.tenant, role="admin", sub="test")
        return httpx.AsyncClient(
            base_url=f"{service.url}/v1/tenants/{self.tenant}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )


@pytest.fixture
async def system(stack: Any) -> AsyncIterator[System]:
    url = stack.new_database()
    tenant = f"rul-{uuid.uuid4().hex[:8]}"
    for email, role, locale in STAFF:
        await add_staff(
            url, tenant=tenant, email=email, name=email.split("@")[0].title(), role=role,
            password=PASSWORD, locale=locale,
        )  # fmt: skip
    env = stack.service_env(url, ANBEFAL_CLOSED_LOOP_DEBOUNCE_S="0.2")
    closed_loop = ServiceProcess("closed-loop", env, stack.root / "logs")
    notify = ServiceProcess(
        "notify", {**env, "ANBEFAL_CLOSED_LOOP_URL": closed_loop.url}, stack.root / "logs"
    )
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="admin-rules-test")
    closed_loop.start()
    notify.env["ANBEFAL_PUBLIC_URL"] = notify.url
    notify.start()
    await publisher.start()
    try:
        await closed_loop.wait_ready()
        await notify.wait_ready()
        await publisher.wait_ready(30)
        yield System(tenant, url, notify, closed_loop, publisher)
    finally:
        await publisher.stop()
        notify.stop()
        closed_loop.stop()


async def log_in(browser: Browser, system: System, email: str) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.goto(f"{system.notify.url}/login")
    await page.get_by_label("Organisation").fill(system.tenant)
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#queue-count")).to_be_visible()
    return context, page


def answer(
    tenant: str, rid: str, score: int, answered_ago: timedelta, received_ago: timedelta
) -> SurveyResponse:
    now = datetime.now(UTC)
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", rid), version=1, tenant=tenant, kind="nps",
        score=score, comment=f"answer {rid}", answered_at=now - answered_ago,
        received_at=now - received_ago, source=Source(tool="api", response_id=rid),
        respondent=Respondent(key=rid),
    )  # fmt: skip


async def publish(system: System, answers: list[SurveyResponse]) -> None:
    await system.publisher.send_many(
        topics.RESPONSES, [(a.key, a.to_bytes(), None) for a in answers]
    )


async def evaluated(system: System, answers: list[SurveyResponse]) -> bool:
    conn = await asyncpg.connect(asyncpg_dsn(system.database_url))
    try:
        n = await conn.fetchval(
            "SELECT count(*) FROM closed_loop.answers WHERE event_id = ANY($1::uuid[])",
            [a.event_id for a in answers],
        )
    finally:
        await conn.close()
    return bool(n == len(answers))


DAY, HOUR = timedelta(days=1), timedelta(hours=1)
COUNTS = ("attached", "unowned", "too_old", "history")


async def test_edit_a_rule_with_its_dry_run_save_it_and_it_routes(
    system: System, browser: Browser, artifacts_dir: Path
) -> None:
    # The last 30 days: two detractors (3 and 6), one of them older than the call's 72 hours
    # when it arrived (5), a passive and a promoter.
    tenant = system.tenant
    past = [
        answer(tenant, "d3", 3, 2 * DAY, 2 * DAY),
        answer(tenant, "d6", 6, 3 * DAY, 3 * DAY),
        answer(tenant, "late5", 5, 10 * DAY, HOUR),
        answer(tenant, "p8", 8, 4 * DAY, 4 * DAY),
        answer(tenant, "n9", 9, DAY, DAY),
    ]
    await publish(system, past)
    await wait_until(lambda: evaluated(system, past), 60, "the past answers evaluated")

    _, page = await log_in(browser, system, "ada@acme.example")
    await page.get_by_role("link", name="Rules").click()
    await expect(page.get_by_role("heading", name="Rules", exact=True)).to_be_visible()
    call = page.get_by_role("group", name="detractor-call")

    # A refusal is shown at its field, in the page's language; nothing is saved.
    await call.get_by_label("Lowest score").fill("7")
    await call.get_by_label("Highest score").fill("5")
    await page.get_by_role("button", name="Preview on the last 30 days").click()
    await expect(call.locator(".field-error")).to_have_text(
        "The lowest score is above the highest."
    )
    await expect(call.get_by_label("Lowest score")).to_have_attribute("aria-invalid", "true")
    await page.screenshot(path=str(artifacts_dir / "admin-rules-refused-en.png"), full_page=True)

    # Calls for 0-5 only, due in 4 hours: the preview, before anything is saved.
    await call.get_by_label("Lowest score").fill("0")
    await call.get_by_label("Due after (hours; empty: the follow-up days)").fill("4")
    await page.get_by_role("button", name="Preview on the last 30 days").click()
    preview = page.locator("#preview")
    await expect(preview).to_be_visible()
    await page.screenshot(path=str(artifacts_dir / "admin-rules-preview-en.png"), full_page=True)

    async with system.api(system.closed_loop) as api:
        in_force = (await api.get("rules")).json()
        rules = [dict(r) for r in in_force["rules"]]
        rules[0].update(max_score=5, due_hours=4, due_follow_up_days=False)
        now = datetime.now(UTC)
        proposal = {
            "rules": rules, "enps_individual_follow_up": False, "holiday_country": None,
            "from": (now - timedelta(days=30)).isoformat(), "to": now.isoformat(),
        }  # fmt: skip
        dry_run = (await api.post("rules/dry-run", json=proposal)).json()
    assert in_force["version"] == 0  # the preview saved nothing
    by_rule = {r["rule_id"]: r for r in dry_run["rules"]}
    assert (by_rule["detractor-call"]["actions"], by_rule["detractor-call"]["too_old"]) == (1, 1)
    assert dry_run["in_force"]["detractor-call"] == 2
    for rule_id, outcome in by_rule.items():
        row = preview.locator(f'tr[data-rule="{rule_id}"]')
        column = "mails" if outcome["type"] == "email" else "tasks"
        await expect(row.locator(f'[data-count="{column}"]')).to_have_text(str(outcome["actions"]))
        for count in COUNTS:
            await expect(row.locator(f'[data-count="{count}"]')).to_have_text(str(outcome[count]))
        await expect(row.locator('[data-count="in_force"]')).to_have_text(
            str(dry_run["in_force"][rule_id])
        )

    await page.get_by_role("button", name="Save as a new version").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Saved. The new version is in force for new answers."
    )
    newest = page.locator('li[data-version="1"]')
    await expect(newest).to_contain_text("in force")
    await expect(newest).to_contain_text("saved by ada@acme.example")
    await expect(newest).to_contain_text("changed: detractor-call")
    await expect(call.get_by_label("Highest score")).to_have_value("5")
    await page.screenshot(path=str(artifacts_dir / "admin-rules-saved-en.png"), full_page=True)

    # The rules in force route a fresh answer: a 4 is called back within 4 hours, a 6 no more.
    fresh = [answer(tenant, "now4", 4, timedelta(0), timedelta(0)),
             answer(tenant, "now6", 6, timedelta(0), timedelta(0))]  # fmt: skip
    await publish(system, fresh)
    await wait_until(lambda: evaluated(system, fresh), 60, "the fresh answers evaluated")
    async with system.api(system.notify) as api:

        async def tasks() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (await api.get("tasks")).json()["tasks"]
            return [t for t in found if t["response_event_id"] in {str(a.event_id) for a in fresh}]

        async def one_task() -> bool:
            return len(await tasks()) == 1

        await wait_until(one_task, 60, "the fresh detractor's task")
        (task,) = await tasks()
    assert (task["score"], task["rule_id"]) == (4, "detractor-call")
    due = datetime.fromisoformat(task["due_at"]) - datetime.fromisoformat(task["answered_at"])
    assert due == timedelta(hours=4)


async def test_accounts_csv_with_a_bad_row_is_refused_then_a_good_one_loads(
    system: System, browser: Browser, artifacts_dir: Path, tmp_path: Path
) -> None:
    _, page = await log_in(browser, system, "bo@acme.example")  # Danish
    await page.get_by_role("link", name="Kunder", exact=True).click()
    await expect(page.get_by_role("heading", name="Kunder og personer")).to_be_visible()

    bad = tmp_path / "kunder.csv"
    bad.write_text(
        "account_id,salesperson,director\n"
        "acme,sælger@acme.example,chef@acme.example\n"
        "beta,ikke-en-mail,chef@acme.example\n"
        "acme,anden@acme.example,\n"
    )
    form = page.get_by_role("form", name="Indlæs kunder (CSV)")
    await form.get_by_label("CSV-fil").set_input_files(str(bad))
    await form.get_by_role("button", name="Indlæs").click()
    problems = page.locator("#accounts-problems")
    await expect(problems).to_be_visible()
    await expect(problems.locator("caption")).to_have_text(
        "Intet blev indlæst. Ret rækkerne herunder, og indlæs filen igen."
    )
    await expect(problems.locator("tbody tr")).to_have_count(2)
    await expect(problems.locator("tbody tr").nth(0)).to_have_text(
        "3salespersonIkke en mailadresse."
    )
    await expect(problems.locator("tbody tr").nth(1)).to_have_text(
        "4account_idStår allerede i en tidligere række."
    )
    await expect(page.get_by_role("heading", name="Kunder (0)")).to_be_visible()
    await page.screenshot(path=str(artifacts_dir / "admin-accounts-refused-da.png"), full_page=True)

    good = tmp_path / "kunder-rettet.csv"
    good.write_text(
        "account_id,dimension,value,salesperson,director\n"
        + "".join(f"kunde-{i:02d},,,saelger{i}@acme.example,chef@acme.example\n" for i in range(25))
        + ",butik,Aarhus C,,aarhus@acme.example\n,butik,Odense,,odense@acme.example\n"
    )
    await form.get_by_label("CSV-fil").set_input_files(str(good))
    await form.get_by_role("button", name="Indlæs").click()
    await expect(page.get_by_role("status")).to_have_text("Indlæst. Kunder: 25, segmenter: 2.")
    await expect(page.get_by_role("heading", name="Kunder (25)")).to_be_visible()
    table = page.locator("#accounts-table tbody tr")
    await expect(table).to_have_count(20)
    await expect(table.first).to_contain_text("kunde-00")
    await expect(page.locator("#segments-table")).to_contain_text("Aarhus C")
    await expect(page.get_by_text("1–20 af 25")).to_be_visible()
    await page.screenshot(path=str(artifacts_dir / "admin-accounts-loaded-da.png"), full_page=True)
    await page.get_by_role("link", name="Næste").click()
    await expect(table).to_have_count(5)
    await expect(table.first).to_contain_text("kunde-20")

    people = page.get_by_role("form", name="Indlæs personer (CSV)")
    people_file = tmp_path / "personer.csv"
    people_file.write_text(
        "email,name,time_zone,work_start,work_end,work_days\n"
        "ida@acme.example,Ida,Europe/Copenhagen,09:00,17:00,mon-thu\n"
    )
    await people.get_by_label("CSV-fil").set_input_files(str(people_file))
    await people.get_by_role("button", name="Indlæs").click()
    await expect(page.get_by_role("status")).to_have_text("Indlæst. Personer: 1.")
    await expect(page.locator("#people-table")).to_contain_text("09:00–17:00")
    async with system.api(system.closed_loop) as api:
        counts = (await api.get("owners")).json()
    assert (counts["accounts"], counts["segments"], counts["people"]) == (25, 2, 1)

    # An agent gets neither page.
    _, agent = await log_in(browser, system, "ida@acme.example")
    for path in ("/admin/rules", "/admin/accounts"):
        response = await agent.goto(f"{system.notify.url}{path}")
        assert response is not None
        assert response.status == 403
        await expect(agent.get_by_role("alert")).to_have_text(
            "Only administrators manage rules, accounts and people."
        )

    # The rules page in Danish, a refusal in Danish at its field.
    await page.get_by_role("link", name="Regler").click()
    call = page.get_by_role("group", name="detractor-call")
    await call.get_by_label("Højeste score").fill("elleve")
    await page.get_by_role("button", name="Prøv på de sidste 30 dage").click()
    await expect(call.locator(".field-error")).to_have_text("Skriv et helt tal.")
    await page.screenshot(path=str(artifacts_dir / "admin-rules-refused-da.png"), full_page=True)
