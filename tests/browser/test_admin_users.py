"""The admin's users page in a real browser (Debian's Chromium, phone width): an invitation by
email becomes a password and a login; a deactivated user's open page loses access."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from anbefal.cli.users import add as add_staff
from anbefal.devstack.testing import ServiceProcess, asyncpg_dsn

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
expect.set_options(timeout=20_000)

PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def notify_env(stack: Any) -> AsyncIterator[tuple[ServiceProcess, str, str]]:
    url = stack.new_database()
    tenant = f"adm-{uuid.uuid4().hex[:8]}"
    for email, name, role, locale in (
        ("ada@acme.example", "Ada", "admin", "da"),
        ("ida@acme.example", "Ida", "agent", "en"),
    ):
        await add_staff(
            url, tenant=tenant, email=email, name=name, role=role, password=PASSWORD,
            locale=locale,
        )  # fmt: skip
    notify = ServiceProcess("notify", stack.service_env(url), stack.root / "logs")
    notify.env["ANBEFAL_PUBLIC_URL"] = notify.url
    notify.start()
    try:
        await notify.wait_ready()
        yield notify, tenant, url
    finally:
        notify.stop()


async def log_in(
    browser: Browser, notify: ServiceProcess, tenant: str, email: str, password: str = PASSWORD
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.goto(f"{notify.url}/login")
    await page.get_by_label("Organisation").fill(tenant)
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#queue-count")).to_be_visible()
    return context, page


async def invitation_link(database_url: str, tenant: str, email: str) -> str:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        body = await conn.fetchval(
            "SELECT body FROM notify.emails WHERE tenant = $1 AND recipient = $2"
            " AND template = 'staff_invite'",
            tenant, email,
        )  # fmt: skip
    finally:
        await conn.close()
    found = re.search(r"https?://\S+/set-password/\S+", body or "")
    assert found, body
    return found.group(0)


async def test_invite_set_password_log_in_and_deactivate(
    notify_env: tuple[ServiceProcess, str, str], browser: Browser, artifacts_dir: Path
) -> None:
    notify, tenant, database_url = notify_env
    _, admin = await log_in(browser, notify, tenant, "ada@acme.example")
    await admin.get_by_role("link", name="Brugere").click()  # in the header, for admins
    await expect(admin.get_by_role("heading", name="Brugere")).to_be_visible()  # Ada's Danish

    await admin.get_by_label("Mail").fill("nina@acme.example")
    await admin.get_by_label("Navn").fill("Nina")
    await admin.get_by_label("Rolle").first.select_option("director")
    await admin.get_by_label("Invitationens sprog").select_option("en")
    await admin.get_by_role("button", name="Send invitation").click()
    await expect(admin.get_by_role("status")).to_have_text("Invitationen er sendt.")
    await admin.screenshot(path=str(artifacts_dir / "admin-users-invited.png"), full_page=True)

    # Nina opens the link from her mail, chooses a password and logs in.
    link = await invitation_link(database_url, tenant, "nina@acme.example")
    nina_context = await browser.new_context(viewport=PHONE)
    nina = await nina_context.new_page()
    await nina.goto(link)
    await expect(nina.get_by_role("heading", name="Choose your password")).to_be_visible()
    await nina.get_by_label("New password").fill("ninas own password")
    await nina.get_by_label("The same password again").fill("ninas own password")
    await nina.screenshot(path=str(artifacts_dir / "set-password.png"), full_page=True)
    await nina.get_by_role("button", name="Save and go to log in").click()
    await expect(nina.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    await nina_context.close()
    _, nina = await log_in(browser, notify, tenant, "nina@acme.example", "ninas own password")
    await expect(nina.get_by_role("link", name="Team queue")).to_be_visible()  # a director
    await nina.goto(link)  # the link worked once
    await expect(nina.get_by_role("alert")).to_contain_text("has been used or has expired")

    # Ida has her queue open; Ada deactivates her; Ida's next request lands on the login page.
    _, ida = await log_in(browser, notify, tenant, "ida@acme.example")
    await admin.reload()
    await admin.get_by_role("button", name="Deaktivér ida@acme.example").click()
    await expect(admin.get_by_role("status")).to_have_text("Deaktiveret.")
    # An admin cannot lock themself out from here.
    await expect(admin.get_by_role("button", name="Deaktivér ada@acme.example")).to_have_count(0)
    await expect(admin.get_by_text("Status: deaktiveret")).to_have_count(1)
    await admin.screenshot(path=str(artifacts_dir / "admin-users-deactivated.png"), full_page=True)
    await ida.reload()
    await expect(ida.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    await ida.screenshot(path=str(artifacts_dir / "deactivated-user-page.png"), full_page=True)
