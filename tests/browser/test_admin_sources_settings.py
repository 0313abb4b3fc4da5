"""The admin's sources and settings pages in a real browser (Debian's Chromium, at phone width,
in Danish), over a real ingest: a source is added and a delivery signed with the secret the page
showed, as the tool would sign it, is accepted and listed; a rotation makes the old secret
refused and the new one accepted; a refused delivery is listed with its reason and replayed
after the source is fixed; the settings are edited, refused next to the field, then saved with
only what was changed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from anbefal.cli.users import add as add_staff
from anbefal.common.auth import issue_token
from anbefal.devstack import surveytools as tools
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
expect.set_options(timeout=20_000)

PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
FORMBRICKS_SECRET = "whsec_" + "c2VjcmV0IG1hZGUgYnkgZm9ybWJyaWNrcyBmb3IgYSB0ZXN0"


@dataclass
class System:
    tenant: str
    notify: ServiceProcess
    ingest: ServiceProcess


@pytest.fixture
async def system(stack: Any) -> AsyncIterator[System]:
    url = stack.new_database()
    tenant = f"src-{uuid.uuid4().hex[:8]}"
    for email, locale in (("ada@acme.example", "da"), ("bo@acme.example", "en")):
        await add_staff(
            url, tenant=tenant, email=email, name=email[:3].title(), role="admin",
            password=PASSWORD, locale=locale,
        )  # fmt: skip
    env = stack.service_env(url, ANBEFAL_INGEST_DELIVERY_LOG_FLUSH_S="0.2")
    logs = stack.root / "logs"
    ingest = ServiceProcess("ingest", env, logs)
    notify = ServiceProcess("notify", {**env, "ANBEFAL_INGEST_URL": ingest.url}, logs)
    notify.env["ANBEFAL_PUBLIC_URL"] = notify.url
    processes = [ingest, notify]
    for process in processes:
        process.start()
    try:
        for process in processes:
            await process.wait_ready()
        yield System(tenant, notify, ingest)
    finally:
        for process in processes:
            process.stop()


async def log_in(
    browser: Browser, system: System, viewport: dict[str, int], email: str = "ada@acme.example"
) -> Page:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await page.goto(f"{system.notify.url}/login")
    await page.get_by_label("Organisation").fill(system.tenant)
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#queue-count")).to_be_visible()
    return page


async def deliver(url: str, signed: tools.Signed) -> httpx.Response:
    """As the survey tool: the signed body to the webhook URL the page showed."""
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(url, content=signed.body, headers=signed.headers)


async def add_typeform(page: Page, score_field: str) -> None:
    await page.get_by_label("Navn (a-z, 0-9 og -)").fill("typeform-nps")
    await page.get_by_label("Spørgeskemaværktøj").select_option("typeform")
    await page.get_by_label("Id eller ref på 0-10-spørgsmålet").fill(score_field)
    await page.get_by_label("Spørgsmålet 'hvorfor?' (valgfrit)").fill("why")
    await page.get_by_role("button", name="Tilføj kilde").click()


async def test_add_a_source_post_to_it_rotate_and_replay(
    system: System, browser: Browser, artifacts_dir: Path
) -> None:
    page = await log_in(browser, system, PHONE)
    await page.get_by_role("link", name="Datakilder").click()  # in the header, for admins
    await expect(page.get_by_role("heading", name="Datakilder")).to_be_visible()
    await expect(page.get_by_text("Ingen kilder endnu.")).to_be_visible()

    # A refused field is named next to the field, in Danish, and what was typed stays.
    await page.get_by_label("Navn (a-z, 0-9 og -)").fill("Typeform NPS")
    await page.get_by_label("Id eller ref på 0-10-spørgsmålet").fill("nps")
    await page.get_by_role("button", name="Tilføj kilde").click()
    await expect(page.locator("#e-name")).to_have_text(
        "Brug små bogstaver, tal og bindestreg (højst 63), og start med et bogstav eller tal."
    )
    await expect(page.get_by_label("Id eller ref på 0-10-spørgsmålet")).to_have_value("nps")

    await add_typeform(page, "nps")
    await expect(page.get_by_role("status").first).to_have_text("Kilden er gemt.")
    url = await page.locator("#webhook-url").inner_text()
    assert url == f"{system.ingest.url}/v1/webhooks/{system.tenant}/typeform-nps"
    secret = await page.locator("#secret-value").inner_text()
    await expect(page.get_by_text("den bliver ikke vist igen")).to_be_visible()
    await page.get_by_role("button", name="Kopiér").focus()  # by keyboard
    await page.keyboard.press("Enter")
    await expect(page.locator("#copy-note")).to_have_text("Kopieret.")
    await page.screenshot(path=str(artifacts_dir / "admin-source-added.png"), full_page=True)

    accepted = await deliver(url, tools.typeform(secret, token="b-1", score=9))
    assert accepted.status_code == 202, accepted.text
    # Ingest writes its delivery counts about once a second: the page shows the delivery once
    # they are written, so it is loaded again until then.
    source_page = f"{system.notify.url}/admin/sources/typeform-nps"

    async def listed(text: str) -> bool:
        await page.goto(source_page)
        return await page.get_by_text(text).count() > 0

    await wait_until(lambda: listed("202 modtaget"), 30, "the delivery on the source's page")
    await expect(page.locator("#secret-value")).to_have_count(0)  # shown once only
    assert secret not in await page.content()

    # A new secret: the old one is refused, the new one accepted.
    await page.get_by_role("button", name="Ny nøgle").click()
    await expect(page.get_by_role("status").first).to_contain_text("Kilden har fået en ny nøgle")
    new = await page.locator("#secret-value").inner_text()
    assert new != secret
    await page.screenshot(path=str(artifacts_dir / "admin-source-rotated.png"), full_page=True)
    stale = await deliver(url, tools.typeform(secret, token="b-2", score=9))
    assert stale.status_code == 401, stale.text
    fresh = await deliver(url, tools.typeform(new, token="b-2", score=9))
    assert fresh.status_code == 202, fresh.text

    # The source names the wrong question: the delivery is kept, listed with its reason, and
    # replayed once the source is fixed (the same form again keeps the secret).
    await page.get_by_role("link", name="Alle kilder").click()
    await add_typeform(page, "nps_q")
    kept = await deliver(url, tools.typeform(new, token="b-3", score=4))
    assert kept.status_code == 200, kept.text
    assert kept.json()["status"] == "ignored"
    await page.get_by_role("link", name="Alle kilder").click()
    await add_typeform(page, "nps")
    await expect(page.locator("#secret-value")).to_have_count(0)  # the secret is kept
    # The reason, as ingest kept it, names the question.
    await expect(page.get_by_text("Årsag: the score question 'nps_q'")).to_be_visible()
    await wait_until(lambda: listed("401 forkert signatur"), 30, "the refused delivery listed")
    await page.screenshot(path=str(artifacts_dir / "admin-source-rejected.png"), full_page=True)
    await page.get_by_role("button", name=f"Kør igen #{kept.json()['rejected_id']}").click()
    await expect(page.get_by_role("status").first).to_have_text(
        "Kørt igen: leveringen gik igennem."
    )
    await expect(page.get_by_text("kørt igen", exact=False).last).to_be_visible()
    await page.screenshot(path=str(artifacts_dir / "admin-source-replayed.png"), full_page=True)

    # Bo works in English at a desktop. Formbricks makes its own secret: it must be pasted.
    desktop = await log_in(browser, system, DESKTOP, "bo@acme.example")
    await desktop.get_by_role("link", name="Sources").click()
    await expect(desktop.get_by_text("typeform-nps · typeform")).to_be_visible()
    await desktop.get_by_label("Name (a-z, 0-9 and -)").fill("formbricks-nps")
    await desktop.get_by_label("Survey tool").select_option("formbricks")
    await desktop.get_by_label("The 0-10 question's id or ref").fill("npsQuestionId")
    await desktop.get_by_role("button", name="Add source").click()
    await expect(desktop.locator("#e-secret")).to_have_text(
        "This tool makes its own secret: paste it here."
    )
    await desktop.screenshot(path=str(artifacts_dir / "admin-sources-desktop.png"), full_page=True)
    await desktop.get_by_label("Signing secret (optional)").fill(FORMBRICKS_SECRET)
    await desktop.get_by_role("button", name="Add source").click()
    await expect(desktop.get_by_role("status").first).to_have_text("The source is saved.")
    await expect(desktop.locator("#secret-value")).to_have_count(0)  # theirs: nothing to show
    fb_url = await desktop.locator("#webhook-url").inner_text()
    signed = tools.formbricks(
        FORMBRICKS_SECRET, response_id="fb-1", event="responseFinished",
        answers={"npsQuestionId": 10}, updated_at="2026-11-30T10:00:00.000Z",
    )  # fmt: skip
    assert (await deliver(fb_url, signed)).status_code == 202


async def test_settings_refused_next_to_the_field_then_saved_in_part(
    system: System, browser: Browser, artifacts_dir: Path
) -> None:
    page = await log_in(browser, system, PHONE)
    await page.get_by_role("link", name="Indstillinger").click()
    await expect(page.get_by_role("heading", name="Indstillinger")).to_be_visible()
    await expect(page.get_by_label("Tidszone")).to_have_value("Europe/Copenhagen")

    # Someone else names the sender while the form is open: saving must not undo it.
    api = f"{system.notify.url}/v1/tenants/{system.tenant}/settings"
    token = issue_token(TEST_JWT_SECRET, tenant=system.tenant, role="admin", sub="bo@acme.example")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=10) as client:
        r = await client.patch(api, json={"sender_name": "Acme Kundeservice"})
        assert r.status_code == 200, r.text

    await page.get_by_label("Tidszone").fill("Europe/Kobenhavn")
    await page.get_by_label("Dage til opfølgning på passive").fill("7")
    await page.get_by_label("Standardleder (e-mail)").fill("dorthe@acme.example")
    await page.get_by_role("button", name="Gem ændringer").click()
    await expect(page.locator("#e-time_zone")).to_have_text(
        "Ukendt tidszone: brug et navn som Europe/Copenhagen."
    )
    await expect(page.get_by_role("alert")).to_have_text(
        "Intet blev gemt: tjek de markerede felter."
    )
    await expect(page.get_by_label("Dage til opfølgning på passive")).to_have_value("7")
    await page.screenshot(path=str(artifacts_dir / "admin-settings-refused.png"), full_page=True)

    await page.get_by_label("Tidszone").fill("Europe/Oslo")
    await page.get_by_label("Tidszone").press("Enter")  # by keyboard
    await expect(page.get_by_role("status")).to_have_text("Gemt.")
    await expect(page.get_by_label("Tidszone")).to_have_value("Europe/Oslo")
    await page.screenshot(path=str(artifacts_dir / "admin-settings-saved.png"), full_page=True)

    async with httpx.AsyncClient(headers=headers, timeout=10) as client:
        saved = (await client.get(api)).json()
    assert saved["time_zone"] == "Europe/Oslo"
    assert saved["follow_up_days"] == 7
    assert saved["default_director"] == "dorthe@acme.example"
    assert saved["sender_name"] == "Acme Kundeservice"  # only the changed fields were sent
    assert saved["changed_by"]["sub"] == "ada@acme.example"
