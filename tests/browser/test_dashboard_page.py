"""The dashboard in a real browser (Debian's Chromium driven by Playwright) over the whole
system, loaded with `anbefal demo load`: as a director (Danish, desktop), a viewer (English,
phone) and a team lead scoped to one team (Danish, phone); every figure on the page equals the
scores API's for the same person; the CSV is the API's; an agent is refused."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from typer.testing import CliRunner

from anbefal.cli.main import app
from anbefal.cli.users import add as add_staff
from anbefal.common import topics
from anbefal.common.auth import Scope, issue_token, parse_scope
from anbefal.common.services import CLOSED_LOOP, NOTIFY, SCORING
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, caught_up, wait_until
from anbefal.notify.dashboard.words import number

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
expect.set_options(timeout=20_000)
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LEAD_SCOPE = "team=Kundeservice Aarhus"


@dataclass(frozen=True)
class Person:
    email: str
    role: str
    locale: str
    scope: str = ""


DIRECTOR = Person("dorthe@nordlys.example", "director", "da")
VIEWER = Person("vera@nordlys.example", "viewer", "en")
LEAD = Person("lea@nordlys.example", "viewer", "da", LEAD_SCOPE)
AGENT = Person("ida@nordlys.example", "agent", "en")


@dataclass
class System:
    tenant: str
    notify: ServiceProcess
    scoring: ServiceProcess
    demo_output: str
    nps_answers: int


@pytest.fixture(scope="module")
async def system(stack: Any) -> AsyncIterator[System]:
    url = stack.new_database()
    tenant = f"nordlys-{uuid.uuid4().hex[:6]}"
    for p in (DIRECTOR, VIEWER, LEAD, AGENT):
        await add_staff(
            url, tenant=tenant, email=p.email, name=p.email.split("@")[0].title(), role=p.role,
            password=PASSWORD, locale=p.locale, scope=parse_scope(p.scope),
        )  # fmt: skip
    env = stack.service_env(url)
    logs = stack.root / "logs"
    scoring = ServiceProcess("scoring", env, logs)
    notify = ServiceProcess("notify", {**env, "ANBEFAL_SCORING_URL": scoring.url}, logs)
    ingest = ServiceProcess("ingest", env, logs)
    closed_loop = ServiceProcess("closed-loop", env, logs)
    processes = [ingest, scoring, closed_loop, notify]
    for process in processes:
        process.start()
    try:
        for process in processes:
            await process.wait_ready()
        # The newcomer's one command, as they type it.
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("ANBEFAL_ENV_FILE", str(stack.root / "no-env-file"))
            mp.setenv("ANBEFAL_JWT_SECRET", TEST_JWT_SECRET)
            mp.delenv("ANBEFAL_JWT_KEYS", raising=False)
            result = CliRunner().invoke(
                app, ["demo", "load", "--tenant", tenant, "--url", ingest.url]
            )
        assert result.exit_code == 0, result.output
        from anbefal.cli.demo import answers

        nps_answers = sum(1 for a in answers(_now()) if a["kind"] == "nps")
        yield System(tenant, notify, scoring, result.output, nps_answers)
    finally:
        for process in processes:
            process.stop()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def token(system: System, person: Person) -> str:
    scope: Scope = parse_scope(person.scope)
    return issue_token(
        TEST_JWT_SECRET, tenant=system.tenant, role=person.role, sub=person.email, scope=scope
    )


async def api(system: System, person: Person, path: str, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {token(system, person)}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        response = await client.get(
            f"{system.scoring.url}/v1/tenants/{system.tenant}/{path}", params=params
        )
    assert response.status_code == 200, response.text
    return response.json() if "json" in response.headers["content-type"] else response.text


async def scored(system: System) -> None:
    """Every demo NPS answer is counted (the demo spans 182 days), and the eNPS grid's blocks
    are published (a worker publishes them after the answers are stored)."""

    async def all_in() -> bool:
        body = await api(system, DIRECTOR, "scores", window="365d", dimension="all")
        if not body["segments"] or body["segments"][0]["n"] != system.nps_answers:
            return False
        enps = await api(
            system, DIRECTOR, "scores", kind="enps", window="quarter", dimension="team"
        )
        return sum(s["nps"] is not None for s in enps["segments"]) >= 4

    await wait_until(all_in, 180, "the demo's answers scored and the eNPS grid published")


async def log_in(
    browser: Browser, system: System, person: Person, viewport: dict[str, int]
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport=viewport, timezone_id="America/New_York")
    page = await context.new_page()
    await page.goto(f"{system.notify.url}/login")
    await page.get_by_label("Organisation", exact=True).fill(system.tenant)
    await page.get_by_label("Email", exact=True).fill(person.email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_load_state()
    return context, page


async def figures_match(page: Page, body: dict[str, Any], locale: str, container: str) -> int:
    """Every figure in `container`'s rows equals the API's segment of the same value, and is
    written as the page's language writes it; returns how many were compared."""
    by_value = {s["value"]: s for s in body["segments"]}
    rows = page.locator(f"{container} tr[data-segment]")
    assert await rows.count() == len(by_value)
    compared = 0
    for i in range(await rows.count()):
        row = rows.nth(i)
        segment = by_value[str(await row.get_attribute("data-segment"))]
        if segment["suppressed"]:
            reason = row.locator("[data-reason]")
            assert await reason.get_attribute("data-reason") == segment["suppressed_reason"]
            continue
        for name in ("n", "promoters", "passives", "detractors"):
            cell = row.locator(f'[data-figure="{name}"]')
            assert await cell.inner_text() == str(segment[name])
            compared += 1
        nps = row.locator('[data-figure="nps"]')
        assert float(str(await nps.get_attribute("data-value"))) == segment["nps"]
        assert await nps.inner_text() == number(segment["nps"], locale)
        interval = row.locator('[data-figure="interval"]')
        low, high = segment["interval"]["low"], segment["interval"]["high"]
        assert await interval.inner_text() == f"{number(low, locale)} – {number(high, locale)}"
        previous = row.locator('[data-figure="previous_nps"]')
        if segment["previous_nps"] is not None:
            assert await previous.inner_text() == number(segment["previous_nps"], locale)
        compared += 3
    return compared


async def headline_matches(page: Page, kind: str, body: dict[str, Any], locale: str) -> None:
    card = page.locator(f"#{kind}-now")
    segment = body["segments"][0] if body["segments"] else None
    if segment is None or segment["nps"] is None:
        assert await card.locator('[data-figure="nps"]').count() == 0
        return
    nps = card.locator('[data-figure="nps"]')
    await expect(nps).to_have_text(number(segment["nps"], locale))
    assert float(str(await nps.get_attribute("data-value"))) == segment["nps"]
    await expect(card.locator('[data-figure="n"]')).to_contain_text(str(segment["n"]))
    interval = card.locator('[data-figure="interval"]')
    await expect(interval).to_contain_text(number(segment["interval"]["low"], locale))
    await expect(interval).to_contain_text(number(segment["interval"]["high"], locale))
    if segment["previous_nps"] is not None:
        change = card.locator(".change")
        await expect(change).to_contain_text(number(segment["previous_nps"], locale))
        await expect(change).to_contain_text(str(segment["previous_n"]))


async def test_demo_load_scores_six_months_and_routes_nothing(system: System, stack: Any) -> None:
    assert "answers sent" in system.demo_output  # progress
    assert "0 routed: loaded as history" in system.demo_output
    await scored(system)
    # closed_loop and notify have read everything the demo made, and made no task.
    prefix = system.notify.env["ANBEFAL_GROUP_PREFIX"]
    for service, topic in ((CLOSED_LOOP, topics.RESPONSES), (NOTIFY, topics.ACTIONS)):

        async def done(service: Any = service, topic: str = topic) -> bool:
            url = system.notify.env["ANBEFAL_DATABASE_URL"]
            return await caught_up(
                stack.kafka.bootstrap, url, service.schema, service.group_id(prefix), [topic]
            )

        await wait_until(done, 120, f"{service.name} caught up")
    headers = {"Authorization": f"Bearer {token(system, DIRECTOR)}"}
    async with httpx.AsyncClient(headers=headers) as client:
        tasks = await client.get(f"{system.notify.url}/v1/tenants/{system.tenant}/tasks")
    assert tasks.json()["tasks"] == []
    assert SCORING.name == "scoring"


async def test_a_director_reads_the_dashboard_in_danish(
    system: System, browser: Browser, artifacts_dir: Path
) -> None:
    await scored(system)
    context, page = await log_in(browser, system, DIRECTOR, DESKTOP)
    await page.get_by_role("link", name="Overblik").click()
    await expect(page.get_by_role("heading", name="Overblik", exact=True)).to_be_visible()
    await expect(page.locator("#scope")).to_have_text("Du ser hele organisationen.")
    nps = await api(system, DIRECTOR, "scores", kind="nps", window="30d", dimension="all")
    await headline_matches(page, "nps", nps, "da")
    await expect(page.locator("#nps-now .change")).to_contain_text("signifikant")
    enps = await api(system, DIRECTOR, "scores", kind="enps", window="month", dimension="all")
    await headline_matches(page, "enps", enps, "da")
    for kind in ("nps", "enps"):
        chart = page.locator(f"#{kind}-trend svg")
        await expect(chart).to_be_visible()
        assert await chart.locator("#interval-band").count() == 1
    await page.screenshot(path=str(artifacts_dir / "dashboard-director-da.png"), full_page=True)

    # Sort by the number of answers, by keyboard.
    await page.get_by_role("link", name="Sortér efter Svar").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("th[aria-sort]")).to_contain_text("Svar")
    body = await api(system, DIRECTOR, "scores", kind="nps", window="30d",
                     dimension="department", sort="n")  # fmt: skip
    shown = await page.locator("#segment-table tbody th").all_inner_texts()
    assert shown == [s["value"] for s in body["segments"]]
    assert await figures_match(page, body, "da", "#segment-table") > 0

    # The CSV download is the scores API's CSV for the same choices.
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Hent som CSV").click()
    download = await download_info.value
    rows = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text())))
    api_csv = await api(system, DIRECTOR, "scores", kind="nps", window="30d",
                        dimension="department", sort="n", format="csv")  # fmt: skip
    expected = list(csv.DictReader(io.StringIO(api_csv)))
    assert [(r["value"], r["n"], r["nps"]) for r in rows] == [
        (r["value"], r["n"], r["nps"]) for r in expected
    ]
    await context.close()


async def test_every_figure_on_the_page_equals_the_apis(
    system: System, browser: Browser, artifacts_dir: Path
) -> None:
    await scored(system)
    context, page = await log_in(browser, system, VIEWER, DESKTOP)
    cases = [
        {"kind": "nps", "window": "90d", "dimension": "country"},
        {"kind": "nps", "window": "quarter", "dimension": "department", "filter": "country:DK"},
        {"kind": "enps", "window": "quarter", "dimension": "team"},
        {"kind": "enps", "window": "month", "dimension": "department"},
    ]
    compared = 0
    for case in cases:
        query = "&".join(f"{k}={v}" for k, v in case.items())
        await page.goto(f"{system.notify.url}/dashboard?{query}")
        body = await api(system, VIEWER, "scores", **case)
        compared += await figures_match(page, body, "en", "#segment-table")
    assert compared > 40
    await context.close()


async def test_a_viewer_on_a_phone_in_english(
    system: System, browser: Browser, artifacts_dir: Path
) -> None:
    await scored(system)
    context, page = await log_in(browser, system, VIEWER, PHONE)
    await expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    # The page fits the phone's width (the segment table scrolls inside its own region).
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await page.screenshot(path=str(artifacts_dir / "dashboard-viewer-en-phone.png"), full_page=True)
    await page.get_by_label("Survey", exact=True).select_option("enps")
    await page.get_by_label("Period", exact=True).select_option("month")
    await page.get_by_label("Dimension", exact=True).fill("team")
    await page.get_by_role("button", name="Show").click()
    body = await api(system, VIEWER, "scores", kind="enps", window="month", dimension="team")
    await figures_match(page, body, "en", "#segment-table")
    hidden = [s for s in body["segments"] if s["suppressed"]]
    assert hidden, "the demo's small team is hidden"
    for s in hidden:
        row = page.locator(f'tr[data-segment="{s["value"]}"]')
        await expect(row).to_contain_text("Hidden")
    await page.screenshot(
        path=str(artifacts_dir / "dashboard-viewer-en-phone-enps-teams.png"), full_page=True
    )
    # An unknown dimension says which ones there are.
    await page.get_by_label("Dimension", exact=True).fill("departement")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("#segments [role=alert]")).to_contain_text("department")
    await context.close()


async def test_a_team_lead_sees_their_team_only(
    system: System, browser: Browser, artifacts_dir: Path
) -> None:
    await scored(system)
    context, page = await log_in(browser, system, LEAD, PHONE)
    await expect(page.get_by_role("heading", name="Overblik", exact=True)).to_be_visible()
    await expect(page.locator("#scope")).to_have_text("Du ser kun team = Kundeservice Aarhus.")
    enps = await api(system, LEAD, "scores", kind="enps", window="month", dimension="all")
    await headline_matches(page, "enps", enps, "da")
    await page.goto(f"{system.notify.url}/dashboard?kind=enps&window=quarter&dimension=team")
    body = await api(system, LEAD, "scores", kind="enps", window="quarter", dimension="team")
    assert [s["value"] for s in body["segments"]] == ["Kundeservice Aarhus"]
    await figures_match(page, body, "da", "#segment-table")
    await page.screenshot(
        path=str(artifacts_dir / "dashboard-team-lead-da-phone.png"), full_page=True
    )
    await context.close()


async def test_an_agent_has_no_dashboard(system: System, browser: Browser) -> None:
    context, page = await log_in(browser, system, AGENT, DESKTOP)
    await expect(page.locator("#queue-count")).to_be_visible()
    await expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)
    refused = await page.goto(f"{system.notify.url}/dashboard")
    assert refused is not None
    assert refused.status == 403
    await context.close()


async def test_themes_comments_and_the_closed_loop_equal_their_apis(
    system: System, browser: Browser, artifacts_dir: Path
) -> None:
    await scored(system)
    context, page = await log_in(browser, system, VIEWER, DESKTOP)
    await page.goto(f"{system.notify.url}/dashboard")
    # Themes: each theme's count is the themes API's.
    body = await api(system, VIEWER, "themes", kind="nps", window="90d")
    shown = page.locator("#themes li[data-theme]")
    expected = [t for t in body["themes"] if t["total"]][:6]
    assert await shown.count() == len(expected) > 0
    for i, theme in enumerate(expected):
        assert await shown.nth(i).get_attribute("data-theme") == theme["name"]
        assert await shown.nth(i).get_attribute("data-total") == str(theme["total"])
    # The latest comments, filtered to detractors mentioning a word.
    await page.get_by_label("Category", exact=True).select_option("detractor")
    await page.get_by_label("Search the comments").fill("montør")
    await page.get_by_role("button", name="Filter").click()
    listed = await api(system, VIEWER, "answers", kind="nps", window="90d", has_comment="true",
                       category="detractor", q="montør", limit="10")  # fmt: skip
    await expect(page.locator("#comments-total")).to_have_attribute(
        "data-value", str(listed["total"])
    )
    items = page.locator("#comments li[data-answer]")
    assert await items.count() == len(listed["answers"]) > 0
    for i, answer in enumerate(listed["answers"]):
        assert await items.nth(i).get_attribute("data-answer") == answer["id"]
        assert await items.nth(i).get_attribute("data-category") == "detractor"
        await expect(items.nth(i)).to_contain_text(answer["comment"])
    # Closed loop: the demo is history, so no detractor has a task; the page says what the API says.
    headers = {"Authorization": f"Bearer {token(system, VIEWER)}"}
    async with httpx.AsyncClient(headers=headers) as client:
        stats = (
            await client.get(
                f"{system.notify.url}/v1/tenants/{system.tenant}/loop-stats",
                params={"window": "30d"},
            )
        ).json()
    for name in ("detractors_with_task", "open", "overdue_now"):
        figure = page.locator(f'#performance [data-figure="{name}"]')
        await expect(figure).to_have_text(str(stats["total"][name]))
    await expect(page.locator("#performance")).to_contain_text("No tasks in this period.")
    await page.screenshot(path=str(artifacts_dir / "dashboard-insights-en.png"), full_page=True)
    await context.close()
