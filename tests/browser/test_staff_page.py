"""The staff page in a real browser: Debian's Chromium driven by Playwright, no browser download."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, async_playwright, expect

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.kafka import Publisher
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    call_task_action,
    wait_until,
)
from anbefal.notify.staff import add_user

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"


@pytest.fixture
async def page_env(stack: Any) -> AsyncIterator[tuple[ServiceProcess, str]]:
    url = stack.new_database()
    tenant = f"ui-{uuid.uuid4().hex[:8]}"
    engine = create_engine(url, pool_size=1)
    async with create_sessionmaker(engine)() as session, session.begin():
        await add_user(
            session,
            tenant=tenant,
            email="ida@acme.example",
            name="Ida",
            role="agent",
            password=PASSWORD,
        )
    await engine.dispose()
    notify = ServiceProcess("notify", stack.service_env(url), stack.root / "logs").start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="ui-test")
    await publisher.start()
    try:
        await notify.wait_ready()
        await publisher.wait_ready(30)
        actions = [call_task_action(tenant, n) for n in range(3)]
        await publisher.send_many(topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in actions])
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="agent", sub="t")
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:

            async def three() -> bool:
                r = await api.get(f"{notify.url}/v1/tenants/{tenant}/tasks")
                return len(r.json()["tasks"]) == 3

            await wait_until(three, 60, "three tasks")
        yield notify, tenant
    finally:
        await publisher.stop()
        notify.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, (
        "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    )
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()


async def test_log_in_claim_and_complete_a_task(
    page_env: tuple[ServiceProcess, str], browser: Browser, artifacts_dir: Path
) -> None:
    notify, tenant = page_env
    page = await browser.new_page()

    await page.goto(f"{notify.url}/queue")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()  # not logged in yet
    await page.get_by_label("Organisation").fill(tenant)
    await page.get_by_label("Email").fill("ida@acme.example")
    await page.get_by_label("Password").fill("wrong password!")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong organisation, email or password")

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Call-back queue")).to_be_visible()
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(3)
    await expect(rows.first).to_contain_text("Overdue")
    await page.screenshot(path=str(artifacts_dir / "staff-queue.png"), full_page=True)

    await page.get_by_role("link", name="Kunde 0").click()
    await expect(page.get_by_role("link", name="Call +45 12 34 56 00")).to_be_visible()
    await page.get_by_role("button", name="Claim").click()
    await expect(page.locator("#status")).to_have_text("claimed")

    await page.get_by_label("Resolved").check()
    await page.get_by_label("Note").fill("Called her; the login problem is fixed.")
    await page.screenshot(path=str(artifacts_dir / "staff-task-claimed.png"), full_page=True)
    await page.get_by_role("button", name="Complete").click()
    await expect(page.locator("#status")).to_have_text("done")
    await expect(
        page.get_by_text("[resolved] Called her; the login problem is fixed.")
    ).to_be_visible()
    await page.screenshot(path=str(artifacts_dir / "staff-task-done.png"), full_page=True)

    # The page and the API agree, and the queue no longer shows the finished task.
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="agent", sub="t")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:
        tasks = (await api.get(f"{notify.url}/v1/tenants/{tenant}/tasks")).json()["tasks"]
    done = [t for t in tasks if t["status"] == "done"]
    assert [(t["claimed_by"], t["outcome"]) for t in done] == [("ida@acme.example", "resolved")]
    await page.get_by_role("link", name="Back to the queue").click()
    await expect(page.locator("tbody tr")).to_have_count(2)
