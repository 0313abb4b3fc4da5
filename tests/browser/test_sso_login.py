"""Single sign-on against a real OpenID Connect provider process (oidc-provider-mock), in
Debian's Chromium: the login page's SSO form → the provider's authorization page → back in the
staff pages with a session, the role from the group claim."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from anbefal.cli.users import add as add_staff
from anbefal.cli.users import deactivate as deactivate_staff
from anbefal.common.auth import issue_token
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The OpenID provider, as its own process; nonces required, as we always send one."""
    port = free_port()
    log = (tmp_path_factory.mktemp("oidc") / "provider.log").open("w")
    command = Path(sys.executable).with_name("oidc-provider-mock")
    process = subprocess.Popen(
        [str(command), "--port", str(port), "--require-nonce", "true"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:

        async def up() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    r = await client.get(f"{issuer}/.well-known/openid-configuration")
                return r.status_code == 200
            except httpx.HTTPError:
                return False

        asyncio.run(wait_until(up, 60, "the OpenID provider answers"))
        yield issuer
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
async def sso_env(stack: Any, provider: str) -> AsyncIterator[tuple[ServiceProcess, str]]:
    url = stack.new_database()
    tenant = f"sso-{uuid.uuid4().hex[:8]}"
    domain = f"{tenant}.example"
    # Someone whose access an admin closed: the provider still knows them; we do not let them in.
    await add_staff(
        url, tenant=tenant, email=f"gone@{domain}", name="Gone", role="agent",
        password="correct horse battery", locale="en",
    )  # fmt: skip
    await deactivate_staff(url, tenant=tenant, email=f"gone@{domain}")
    env = stack.service_env(url, ANBEFAL_SSO_ALLOW_HTTP_ISSUER="true")
    notify = ServiceProcess("notify", env, stack.root / "logs")
    notify.env["ANBEFAL_PUBLIC_URL"] = notify.url  # the redirect URI the provider sends back to
    notify.start()
    try:
        await notify.wait_ready()
        admin = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="it@" + domain)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {admin}"}) as api:
            body = {
                "issuer": provider,
                "client_id": f"anbefal-{tenant}",
                "client_secret": "s3cret-from-the-provider",
                "domains": [domain],
                "roles": {"cx-leads": "director", "support": "agent"},
            }
            r = await api.put(f"{notify.url}/v1/tenants/{tenant}/sso", json=body)
            assert r.status_code == 200, r.text
            assert r.json()["redirect_uri"] == f"{notify.url}/login/sso/callback"
            assert "client_secret" not in r.text
            assert "s3cret" not in r.text
            # The people at the provider, with their groups.
            async with httpx.AsyncClient() as idp:
                for sub, groups in [("mette", ["cx-leads"]), ("lars", ["marketing"]),
                                    ("gone", ["support"])]:  # fmt: skip
                    claims = {"email": f"{sub}@{domain}", "email_verified": True,
                              "name": sub.title(), "groups": groups}  # fmt: skip
                    r = await idp.put(f"{provider}/users/{quote(sub)}", json=claims)
                    assert r.status_code == 204, r.text
        yield notify, tenant
    finally:
        notify.stop()


async def sign_in(page: Page, notify: ServiceProcess, email: str, sub: str) -> None:
    await page.goto(f"{notify.url}/login")
    await page.get_by_label("Work account").fill(email)
    await page.get_by_role("button", name="Continue").click()
    # The provider's own page: who is signing in.
    await expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    await page.get_by_placeholder("sub").fill(sub)
    await page.get_by_role("button", name="Authorize").click()


async def test_a_director_signs_in_with_the_company_account(
    sso_env: tuple[ServiceProcess, str], browser: Browser, artifacts_dir: Path
) -> None:
    notify, tenant = sso_env
    page = await browser.new_page()
    await page.goto(f"{notify.url}/login")
    await expect(page.get_by_role("heading", name="Company account")).to_be_visible()
    await page.screenshot(path=str(artifacts_dir / "sso-login.png"), full_page=True)

    await sign_in(page, notify, f"mette@{tenant}.example", "mette")

    # Back in the staff pages, logged in, as a director (the team queue is a director's).
    await expect(page.get_by_role("link", name="Team queue")).to_be_visible()
    assert page.url.startswith(f"{notify.url}/queue")
    await page.screenshot(path=str(artifacts_dir / "sso-signed-in.png"), full_page=True)

    # The user now exists, as a director, and has no password anyone could guess.
    async with httpx.AsyncClient() as client:
        login = await client.get(f"{notify.url}/login")
        csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
        r = await client.post(
            f"{notify.url}/login",
            data={
                "tenant": tenant,
                "email": f"mette@{tenant}.example",
                "password": "!sso",
                "csrf": csrf,
            },  # fmt: skip
            headers={"Origin": notify.url},
        )
        assert r.status_code == 401


async def test_people_the_tenant_does_not_admit_are_refused_with_the_reason(
    sso_env: tuple[ServiceProcess, str], browser: Browser, artifacts_dir: Path
) -> None:
    notify, tenant = sso_env
    context = await browser.new_context()
    page = await context.new_page()

    # In no group that gives a role here.
    await sign_in(page, notify, f"lars@{tenant}.example", "lars")
    await expect(page.get_by_role("alert")).to_contain_text("in no group that gives access")
    assert "/queue" not in page.url

    # Deactivated here: the provider's word does not reopen the access.
    await sign_in(page, notify, f"gone@{tenant}.example", "gone")
    await expect(page.get_by_role("alert")).to_contain_text("Your access has been closed")

    # A domain without single sign-on.
    await page.goto(f"{notify.url}/login")
    await page.get_by_label("Work account").fill("someone@elsewhere.example")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "Single sign-on is not set up for elsewhere.example"
    )
    await page.screenshot(path=str(artifacts_dir / "sso-unknown-domain.png"), full_page=True)
    await context.close()


async def test_a_callback_without_its_attempt_is_refused(
    sso_env: tuple[ServiceProcess, str],
) -> None:
    notify, _ = sso_env
    async with httpx.AsyncClient() as client:
        r = await client.get(f"{notify.url}/login/sso/callback", params={"code": "x", "state": "y"})
    assert r.status_code == 400
    assert "anbefal_session" not in r.headers.get("set-cookie", "")
