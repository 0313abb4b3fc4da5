"""A task's owner without a staff login works it through the signed link in their mail: that
one task (read, claim, complete), nothing else, and only until it closes."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from anbefal.cli.users import add as add_staff
from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import TenantSettings
from anbefal.common.kafka import Publisher
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    asyncpg_dsn,
    call_task_action,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
SALES = "sales@partner.example"  # the account's salesperson, named by the tenant; no login


@dataclass
class Env:
    notify: ServiceProcess
    tenant: str
    database_url: str

    async def link(self, respondent: str) -> str:
        """The task link in the assignment mail about `respondent`."""
        conn = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            body = await conn.fetchval(
                "SELECT body FROM notify.emails WHERE tenant = $1 AND template = 'assignment' "
                "AND recipient = $2 AND subject LIKE '%' || $3 || '%'",
                self.tenant, SALES, respondent,
            )  # fmt: skip
        finally:
            await conn.close()
        assert body is not None, f"no assignment mail about {respondent}"
        found = re.search(r"(/t/\S+)", body)
        assert found, body
        return found.group(1)


@pytest.fixture(scope="module")
async def env(stack: Any) -> AsyncIterator[Env]:
    url = stack.new_database()
    tenant = f"l-{uuid.uuid4().hex[:8]}"
    await add_staff(
        url, tenant=tenant, email="ida@acme.example", name="Ida", role="agent",
        password="long enough password", locale="en",
    )  # fmt: skip
    notify = ServiceProcess(
        "notify", stack.service_env(url, ANBEFAL_SLA_POLL_S="3600"), stack.root / "logs"
    )
    notify.env["ANBEFAL_PUBLIC_URL"] = notify.url
    notify.start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="links-test")
    await publisher.start()
    try:
        await notify.wait_ready()
        await publisher.wait_ready(30)
        actions = [
            call_task_action(tenant, n).model_copy(
                update={"assignee": SALES, "assignee_source": "account"}
            )
            for n in range(2)
        ]
        # The tenant's settings: its time zone is Copenhagen's (the default).
        settings = TenantSettings(tenant=tenant, display_name="Acme", updated_at=datetime.now(UTC))
        await publisher.send_many(topics.TENANTS, [(settings.key, settings.to_bytes(), None)])
        await publisher.send_many(topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in actions])
        e = Env(notify, tenant, url)
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:

            async def mailed() -> bool:
                count = await conn.fetchval(
                    "SELECT count(*) FROM notify.emails WHERE template = 'assignment' "
                    "AND tenant = $1 AND recipient = $2",
                    tenant, SALES,
                )  # fmt: skip
                return bool(count == 2)

            # A new consumer group reads the actions topic from its start: in a whole suite run
            # that is every earlier test's actions before these two.
            await wait_until(mailed, 240, "two assignment mails to the salesperson")
        finally:
            await conn.close()
        yield e
    finally:
        await publisher.stop()
        notify.stop()


async def test_the_link_opens_its_task_and_nothing_else(env: Env) -> None:
    first, second = await env.link("Kunde 0"), await env.link("Kunde 1")
    token = first.rpartition("/")[2]
    async with httpx.AsyncClient(base_url=env.notify.url, timeout=30) as web:
        page = await web.get(first)
        assert page.status_code == 200
        assert "Kunde 0" in page.text
        assert "Kunde 1" not in page.text
        assert "+45 12 34 56 00" in page.text  # they call: they see the phone
        assert "/queue" not in page.text  # no way into the staff pages
        assert not web.cookies  # no session: the link is the permission
        other = await web.get(second)
        assert "Kunde 1" in other.text  # each link opens only its own task
        altered = first[:-3] + ("AAA" if not first.endswith("AAA") else "BBB")
        assert (await web.get(altered)).status_code == 404
        # The token is no session cookie and no bearer token.
        web.cookies.set("anbefal_session", token)
        queue = await web.get("/queue")
        web.cookies.clear()
        assert queue.status_code == 303
        assert queue.headers["location"] == "/login"
        bearer = {"Authorization": f"Bearer {token}"}
        for path in (f"/v1/tenants/{env.tenant}/tasks", f"/v1/tenants/{env.tenant}/emails"):
            assert (await web.get(path, headers=bearer)).status_code == 401
        # A POST from another origin changes nothing.
        forged = await web.post(f"{first}/claim", headers={"Origin": "https://evil.example"})
        assert forged.status_code == 403


async def test_the_owner_claims_and_completes_and_then_the_link_is_closed(env: Env) -> None:
    link = await env.link("Kunde 1")
    origin = {"Origin": env.notify.url}
    async with httpx.AsyncClient(base_url=env.notify.url, timeout=30) as web:
        claimed = await web.post(f"{link}/claim", headers=origin)
        assert claimed.status_code == 303
        page = await web.get(link)
        assert 'id="status">claimed' in page.text
        refused = await web.post(
            f"{link}/complete", headers=origin, data={"outcome": "reached", "note": " "}
        )
        assert refused.status_code == 422
        done = await web.post(
            f"{link}/complete",
            headers=origin,
            data={"outcome": "reached", "note": "Talked to her; a new invoice is on its way."},
        )
        assert done.status_code == 200
        assert (await web.get(link)).status_code == 404  # closed with the task
    token = issue_token(TEST_JWT_SECRET, tenant=env.tenant, role="agent", sub="t")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as api:
        tasks = (await api.get(f"{env.notify.url}/v1/tenants/{env.tenant}/tasks")).json()["tasks"]
    done_tasks = [t for t in tasks if t["status"] == "done"]
    assert [(t["claimed_by"], t["outcome"]) for t in done_tasks] == [(SALES, "reached")]


async def test_pages_speak_the_browsers_language_before_any_login(env: Env) -> None:
    link = await env.link("Kunde 0")
    danish = {"Accept-Language": "da-DK,da;q=0.9,en;q=0.5"}
    async with httpx.AsyncClient(base_url=env.notify.url, headers=danish, timeout=30) as web:
        login = await web.get("/login")
        assert '<html lang="da">' in login.text
        assert "Adgangskode" in login.text
        assert "Tag opgaven" in (await web.get(link)).text

        async def local() -> bool:
            return "CET" in (await web.get(link)).text

        # Times in the tenant's zone, named, and the due time in words: never UTC.
        await wait_until(local, 30, "the page in Copenhagen time")
        page = (await web.get(link)).text
        assert "UTC" not in page
        assert re.search(r"(i dag|i morgen|i går|på \w+|sidste \w+) kl\. \d\d:\d\d", page)
        origin = {"Origin": env.notify.url}
        assert (await web.post(f"{link}/claim", headers=origin)).status_code == 303
        # A refused form says why in Danish, not in the validator's English.
        refused = await web.post(
            f"{link}/complete", headers=origin, data={"outcome": "reached", "note": " "}
        )
        assert refused.status_code == 422
        assert "Skriv en note" in refused.text
        assert "String should" not in refused.text
        refused = await web.post(f"{link}/complete", headers=origin, data={"note": "Ringede"})
        assert "Vælg et udfald" in refused.text
    async with httpx.AsyncClient(base_url=env.notify.url, timeout=30) as web:
        assert "Password" in (await web.get("/login")).text
