"""The staff pages' logins and sessions through a real notify process: a login flood does not
stall it, wrong logins are throttled with a wait, sessions end at logout, deactivation and a role
change, the cookie is no bearer token, forms refuse other origins, and viewers see no contact
details."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher

from anbefal.cli.users import add as add_staff
from anbefal.cli.users import deactivate
from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.kafka import Publisher
from anbefal.devstack.staffpage import StaffPage, form_token
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    asyncpg_dsn,
    call_task_action,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
PASSWORD = "long enough password"
STAFF = [
    ("ida@acme.example", "agent"),
    ("ole@acme.example", "agent"),
    ("sam@acme.example", "agent"),
    ("dorthe@acme.example", "director"),
]
FLOOD = [f"flood{n}@acme.example" for n in range(3)]


@dataclass
class Env:
    notify: ServiceProcess
    tenant: str
    database_url: str
    task_ids: list[str]

    def api(self, role: str) -> httpx.AsyncClient:
        token = issue_token(TEST_JWT_SECRET, tenant=self.tenant, role=role, sub=f"{role}@t")
        return httpx.AsyncClient(
            base_url=f"{self.notify.url}/v1/tenants/{self.tenant}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def page(self, local_address: str | None = None) -> StaffPage:
        return StaffPage(self.notify.url, local_address=local_address)


@pytest.fixture(scope="module")
async def env(stack: Any) -> AsyncIterator[Env]:
    url = stack.new_database()
    tenant = f"s-{uuid.uuid4().hex[:8]}"
    for email, role in STAFF + [(f, "agent") for f in FLOOD]:
        await add_staff(
            url, tenant=tenant, email=email, name=email, role=role, password=PASSWORD,
            locale="en",
        )  # fmt: skip
    # The flood's accounts get a deliberately slow hash: each wrong login costs seconds of
    # argon2, far longer than a health call, so "the health call answered while they ran" is a
    # wide margin rather than a race.
    slow = PasswordHasher(time_cost=8).hash("not the password")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "UPDATE notify.staff_users SET password_hash = $1 WHERE email = ANY($2::text[])",
            slow,
            FLOOD,
        )
    finally:
        await conn.close()
    notify = ServiceProcess(
        "notify",
        stack.service_env(
            url,
            ANBEFAL_SLA_POLL_S="3600",
            ANBEFAL_LOGIN_FREE_ATTEMPTS_PER_ACCOUNT="2",
            ANBEFAL_LOGIN_FREE_ATTEMPTS_PER_ADDRESS="4",
            ANBEFAL_LOGIN_HASH_CONCURRENCY="2",
        ),
        stack.root / "logs",
    )
    notify.env["ANBEFAL_PUBLIC_URL"] = notify.url
    notify.start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="sessions-test")
    await publisher.start()
    try:
        await notify.wait_ready()
        await publisher.wait_ready(30)
        actions = [call_task_action(tenant, n) for n in range(3)]
        await publisher.send_many(topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in actions])
        e = Env(notify, tenant, url, [])
        async with e.api("admin") as api:

            async def three() -> bool:
                e.task_ids = [t["id"] for t in (await api.get("/tasks")).json()["tasks"]]
                return len(e.task_ids) == 3

            await wait_until(three, 60, "three tasks")
        yield e
    finally:
        await publisher.stop()
        notify.stop()


async def test_a_login_flood_does_not_stall_notify(env: Env) -> None:
    forms_read = asyncio.Barrier(len(FLOOD) + 1)

    async def wrong_login(n: int) -> tuple[int, float]:
        # Each from its own address (127.0.0.0/8 is all loopback), so no throttle steps in.
        async with env.page(local_address=f"127.0.0.{21 + n}") as page:
            form = await page.client.get("/login")
            fields = {"tenant": env.tenant, "email": FLOOD[n], "password": "a wrong password"}
            await forms_read.wait()  # every login posts at once, and only then is health asked
            started = time.monotonic()
            response = await page.client.post(
                "/login", data={**fields, "csrf": form_token(form.text)}
            )
            return response.status_code, time.monotonic() - started

    logins = [asyncio.create_task(wrong_login(n)) for n in range(len(FLOOD))]
    await forms_read.wait()
    health_s: list[float] = []
    async with httpx.AsyncClient(base_url=env.notify.url, timeout=120) as client:
        while not all(task.done() for task in logins):
            started = time.monotonic()
            assert (await client.get("/healthz")).status_code == 200
            health_s.append(time.monotonic() - started)
    results = await asyncio.gather(*logins)
    assert [status for status, _ in results] == [401] * len(FLOOD)
    # Each wrong login costs seconds of argon2; while they ran, every health call was answered
    # in a fraction of that. With the hashing on the event loop a health call waits for the
    # check in progress to finish: half a login's time or more.
    shortest_login = min(duration for _, duration in results)
    assert len(health_s) >= 3
    assert max(health_s) < shortest_login / 2, (max(health_s), shortest_login)


async def test_wrong_logins_are_throttled_with_the_wait_in_words(env: Env) -> None:
    async with env.page(local_address="127.0.0.31") as page:
        for _ in range(2):
            wrong = await page.log_in(env.tenant, "sam@acme.example", "a wrong password")
            assert wrong.status_code == 401
        throttled = await page.log_in(env.tenant, "sam@acme.example", PASSWORD)
        assert throttled.status_code == 429  # the right password too, while the wait lasts
        wait = int(throttled.headers["Retry-After"])
        assert 1 <= wait <= 2
        assert "Too many attempts to log in. Try again in" in throttled.text

        async def may_again() -> bool:
            r = await page.log_in(env.tenant, "sam@acme.example", PASSWORD)
            assert r.status_code in (303, 429), r.text
            return r.status_code == 303

        await wait_until(may_again, 30, "the wait is over and the right password works")
    # One address trying many accounts is throttled too, whichever account it tries next.
    async with env.page(local_address="127.0.0.32") as page:
        for n in range(4):
            r = await page.log_in(env.tenant, f"nobody{n}@acme.example", "a wrong password")
            assert r.status_code == 401
        r = await page.log_in(env.tenant, "ole@acme.example", PASSWORD)
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1


async def test_a_session_ends_at_logout_deactivation_and_a_role_change(env: Env) -> None:
    async def cookie_of(email: str) -> str:
        async with env.page(local_address="127.0.0.41") as page:
            assert (await page.log_in(env.tenant, email, PASSWORD)).status_code == 303
            return page.session_cookie

    async def lives(cookie: str) -> bool:
        async with httpx.AsyncClient(
            base_url=env.notify.url, cookies={"anbefal_session": cookie}, timeout=30
        ) as client:
            r = await client.get("/queue")
            assert r.status_code in (200, 303)
            return r.status_code == 200

    async with env.page(local_address="127.0.0.41") as page:
        assert (await page.log_in(env.tenant, "ida@acme.example", PASSWORD)).status_code == 303
        kept = page.session_cookie
        assert await lives(kept)
        # The cookie is no bearer token, on notify's API or any other.
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {kept}"}) as raw:
            r = await raw.get(f"{env.notify.url}/v1/tenants/{env.tenant}/tasks")
            assert r.status_code == 401
        out = await page.submit("/logout", {})
        assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert not await lives(kept)  # a copy of the cookie is worth nothing after logout

    promoted = await cookie_of("ole@acme.example")
    assert await lives(promoted)
    await add_staff(
        env.database_url, tenant=env.tenant, email="ole@acme.example", name="Ole",
        role="director", password=PASSWORD, locale="en",
    )  # fmt: skip
    assert not await lives(promoted)

    leaving = await cookie_of("dorthe@acme.example")
    assert await lives(leaving)
    assert await deactivate(env.database_url, tenant=env.tenant, email="dorthe@acme.example")
    assert not await lives(leaving)
    async with env.page(local_address="127.0.0.42") as page:
        r = await page.log_in(env.tenant, "dorthe@acme.example", PASSWORD)
        assert r.status_code == 401


async def test_forms_from_another_origin_or_without_their_token_are_refused(env: Env) -> None:
    task = env.task_ids[0]
    # Same site, another port: SameSite=Lax sends the cookie along, so only the server's
    # checks stand between such a page and the queue.
    elsewhere = {"Origin": "http://127.0.0.1:9"}
    async with env.page(local_address="127.0.0.51") as page:
        assert (await page.log_in(env.tenant, "ida@acme.example", PASSWORD)).status_code == 303
        token = await page.token()
        forged: list[tuple[str, dict[str, str], dict[str, str]]] = [
            (f"/tasks/{task}/claim", {"csrf": token}, elsewhere),
            (f"/tasks/{task}/claim", {}, {}),  # our origin, no token
            (f"/tasks/{task}/claim", {"csrf": "x" * 43}, {}),  # our origin, a wrong token
            (f"/tasks/{task}/claim", {"csrf": token}, {"Origin": "null"}),
            (f"/tasks/{task}/complete", {"csrf": token, "outcome": "reached", "note": "x"},
             elsewhere),
            ("/logout", {"csrf": token}, elsewhere),
        ]  # fmt: skip
        for path, data, headers in forged:
            r = await page.client.post(path, data=data, headers=headers)
            assert r.status_code == 403, (path, headers, r.status_code)
            assert "did not come from this page" in r.text
        # No Origin and no Referer at all: refused as well (browsers send Origin on POST).
        bare = httpx.AsyncClient(base_url=env.notify.url, cookies=page.client.cookies)
        async with bare:
            r = await bare.post(f"/tasks/{task}/claim", data={"csrf": token})
            assert r.status_code == 403
            # Nothing happened: still open, still logged in.
            async with env.api("admin") as api:
                assert (await api.get(f"/tasks/{task}")).json()["status"] == "open"
            # A Referer from our own page stands in for a missing Origin.
            referred = await bare.post(
                f"/tasks/{task}/notes",
                data={"body": "via referer", "csrf": token},
                headers={"Referer": f"{env.notify.url}/tasks/{task}"},
            )
            assert referred.status_code == 303
        # The real form works.
        r = await page.submit(f"/tasks/{task}/claim", {}, page=f"/tasks/{task}")
        assert (r.status_code, r.headers["location"]) == (303, f"/tasks/{task}")
    # The login form: its token comes with the form; another origin cannot log anyone in.
    async with env.page(local_address="127.0.0.52") as page:
        form = await page.client.get("/login")
        fields = {"tenant": env.tenant, "email": "ida@acme.example", "password": PASSWORD}
        r = await page.client.post("/login", data=fields)  # no token
        assert r.status_code == 403
        with_token = {**fields, "csrf": page_token(form.text)}
        r = await page.client.post("/login", data=with_token, headers=elsewhere)
        assert r.status_code == 403
        assert "anbefal_session" not in page.client.cookies
        r = await page.client.post("/login", data=with_token)
        assert r.status_code == 303


def page_token(html: str) -> str:
    token = form_token(html)
    assert token
    return token


async def test_viewers_and_ops_see_tasks_without_contact_details(env: Env) -> None:
    for role, sees in [("agent", True), ("director", True), ("admin", True),
                       ("viewer", False), ("ops", False)]:  # fmt: skip
        async with env.api(role) as api:
            listed = (await api.get("/tasks")).json()["tasks"]
            one = (await api.get(f"/tasks/{env.task_ids[0]}")).json()
            for respondent in [t["respondent"] for t in listed] + [one["respondent"]]:
                assert respondent["name"].startswith("Kunde")
                if sees:
                    assert respondent["phone"].startswith("+45 12 34 56"), (role, respondent)
                else:
                    assert not {"phone", "email"} & respondent.keys(), (role, respondent)
            logs = [(await api.get(p)).status_code for p in ("/emails", "/chat-messages")]
            assert logs == ([200, 200] if role in ("director", "admin", "ops") else [403, 403])


async def test_an_admin_changes_role_and_scope_and_deactivates_through_the_api(env: Env) -> None:
    async def cookie_of(email: str) -> str:
        async with env.page(local_address="127.0.0.43") as page:
            assert (await page.log_in(env.tenant, email, PASSWORD)).status_code == 303
            return page.session_cookie

    async def lives(cookie: str) -> bool:
        async with httpx.AsyncClient(
            base_url=env.notify.url, cookies={"anbefal_session": cookie}, timeout=30
        ) as client:
            return (await client.get("/queue")).status_code == 200

    async with env.api("admin") as api:
        listed = (await api.get("/users")).json()["users"]
        sam = next(u for u in listed if u["email"] == "sam@acme.example")
        assert (sam["role"], sam["scope"], sam["active"]) == ("agent", {}, True)
        assert not any("password" in key for user in listed for key in user)

        open_page = await cookie_of("sam@acme.example")
        r = await api.patch(
            "/users/Sam@acme.example", json={"role": "director", "scope": "team=Alpha"}
        )
        assert r.status_code == 200, r.text
        assert (r.json()["role"], r.json()["scope"]) == ("director", {"team": "Alpha"})
        assert not await lives(open_page)  # sessions end at once: log in again under the role

        for body, field in (
            ({"role": "ingest"}, "role"),
            ({"scope": "team"}, "scope"),
            ({"active": True}, "active"),
            ({"name": "x"}, "name"),
        ):
            r = await api.patch("/users/sam@acme.example", json=body)
            assert r.status_code == 422, (body, r.text)
            assert [d["field"] for d in r.json()["error"]["details"]] == [field], r.text
        assert (
            await api.patch("/users/nobody@acme.example", json={"role": "agent"})
        ).status_code == 404

        open_page = await cookie_of("sam@acme.example")
        r = await api.patch("/users/sam@acme.example", json={"active": False})
        assert (r.status_code, r.json()["active"]) == (200, False), r.text
        assert not await lives(open_page)
        async with env.page(local_address="127.0.0.44") as page:
            assert (await page.log_in(env.tenant, "sam@acme.example", PASSWORD)).status_code == 401
    for role in ("director", "agent", "viewer", "ops"):
        async with env.api(role) as other:
            assert (await other.get("/users")).status_code == 403, role
            r = await other.patch("/users/ida@acme.example", json={"role": "admin"})
            assert r.status_code == 403, role


async def mailed_link(env: Env, email: str, template: str) -> str:
    """The one-time link in the newest mail of `template` to `email` (as the outbox holds it)."""
    conn = await asyncpg.connect(asyncpg_dsn(env.database_url))
    try:
        body = await conn.fetchval(
            "SELECT body FROM notify.emails WHERE tenant = $1 AND recipient = $2"
            " AND template = $3 ORDER BY created_at DESC LIMIT 1",
            env.tenant, email, template,
        )  # fmt: skip
    finally:
        await conn.close()
    assert body, f"no {template} mail to {email}"
    found = re.search(r"(/set-password/\S+)", body)
    assert found, body
    return found.group(1)


async def test_an_invitation_and_a_reset_set_a_password_through_a_one_time_link(
    env: Env,
) -> None:
    new = "nina@acme.example"
    async with env.api("admin") as api:
        r = await api.post(
            "/users", json={"email": new, "name": "Nina", "role": "director",
                            "scope": "team=Beta", "locale": "da"},
        )  # fmt: skip
        assert r.status_code == 202, r.text
        r = await api.post("/users", json={"email": "ida@acme.example", "role": "agent"})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "user_exists")
        r = await api.post("/users", json={"email": "x@acme.example", "role": "ops"})
        assert r.status_code == 422
    for role in ("director", "agent", "viewer", "ops"):
        async with env.api(role) as other:
            r = await other.post("/users", json={"email": "y@acme.example"})
            assert r.status_code == 403, role
    link = await mailed_link(env, new, "staff_invite")

    async with env.page(local_address="127.0.0.45") as page:
        form = await page.client.get(link)
        assert form.status_code == 200
        assert "Vælg din adgangskode" in form.text  # the invitation's language
        elsewhere = await page.client.post(
            link, data={"password": PASSWORD, "again": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )  # fmt: skip
        assert elsewhere.status_code == 403
        differ = await page.client.post(link, data={"password": PASSWORD, "again": "other one!"})
        assert differ.status_code == 422
        done = await page.client.post(link, data={"password": PASSWORD, "again": PASSWORD})
        assert (done.status_code, done.headers["location"]) == (303, "/login")
        assert (await page.client.get(link)).status_code == 410  # once only
        again = await page.client.post(link, data={"password": "x" * 12, "again": "x" * 12})
        assert again.status_code == 410
        assert (await page.log_in(env.tenant, new, PASSWORD)).status_code == 303
    async with env.api("admin") as api:
        nina = next(u for u in (await api.get("/users")).json()["users"] if u["email"] == new)
        assert (nina["role"], nina["scope"], nina["active"]) == ("director", {"team": "Beta"}, True)

        # A reset brings a deactivated login back with a new password; an old link stops.
        assert (await api.patch(f"/users/{new}", json={"active": False})).status_code == 200
        assert (await api.post(f"/users/{new}/password-reset")).status_code == 202
        first = await mailed_link(env, new, "staff_reset")
        assert (await api.post(f"/users/{new}/password-reset")).status_code == 202
        second = await mailed_link(env, new, "staff_reset")
        assert (await api.post("/users/nobody@acme.example/password-reset")).status_code == 404
    assert first != second
    fresh = "a new long password"
    async with env.page(local_address="127.0.0.46") as page:
        assert (await page.client.get(first)).status_code == 410
        done = await page.client.post(second, data={"password": fresh, "again": fresh})
        assert done.status_code == 303
        assert (await page.log_in(env.tenant, new, PASSWORD)).status_code == 401
        assert (await page.log_in(env.tenant, new, fresh)).status_code == 303

    # An expired link does nothing.
    async with env.api("admin") as api:
        assert (await api.post(f"/users/{new}/password-reset")).status_code == 202
    late = await mailed_link(env, new, "staff_reset")
    conn = await asyncpg.connect(asyncpg_dsn(env.database_url))
    try:
        await conn.execute(
            "UPDATE notify.staff_links SET expires_at = now() - interval '1 minute'"
            " WHERE tenant = $1 AND email = $2 AND used_at IS NULL",
            env.tenant, new,
        )  # fmt: skip
    finally:
        await conn.close()
    async with env.page(local_address="127.0.0.47") as page:
        r = await page.client.post(late, data={"password": "y" * 12, "again": "y" * 12})
        assert r.status_code == 410


async def test_the_users_page_is_for_admins_only(env: Env) -> None:
    async with env.page(local_address="127.0.0.48") as page:
        assert (await page.log_in(env.tenant, "ole@acme.example", PASSWORD)).status_code == 303
        assert (await page.client.get("/admin/users")).status_code == 403
        r = await page.submit("/admin/users/invite", {"email": "z@acme.example", "role": "admin"})
        assert r.status_code == 403
    async with env.api("admin") as api:
        users = (await api.get("/users")).json()["users"]
        assert "z@acme.example" not in {u["email"] for u in users}
    async with httpx.AsyncClient(base_url=env.notify.url) as anonymous:
        r = await anonymous.get("/admin/users")
        assert (r.status_code, r.headers["location"]) == (303, "/login")
