"""Tenant settings through notify's API (`GET/PATCH /v1/tenants/{t}/settings`) and the command
line that uses it: a partial update changes only the fields it names, a bad field is a 422 that
names it, only an admin may change them, every change reaches `anbefal.tenants.v1` whole and
leaves one audit entry with its actor; a chat webhook change in between does not make the next
settings change look like a new tenant."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from anbefal.common.auth import issue_token
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CLI = [sys.executable, "-m", "anbefal.cli.main"]


def token(tenant: str, role: str) -> dict[str, str]:
    bearer = issue_token(TEST_JWT_SECRET, tenant=tenant, role=role, sub="ada@acme.example")
    return {"Authorization": f"Bearer {bearer}"}


def run(env: dict[str, str], *args: str, stdin: str = "") -> None:
    done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, input=stdin)
    assert done.returncode == 0, done.stderr


async def test_a_partial_update_changes_only_what_it_names(stack: Any) -> None:
    env = stack.service_env(stack.new_database())
    notify = ServiceProcess("notify", env, stack.root / "logs").start()
    tenant = f"set-{uuid.uuid4().hex[:8]}"
    cli_env = {**env, "USER": "ops-olga"}
    path = f"/v1/tenants/{tenant}/settings"
    try:
        await notify.wait_ready()
        run(cli_env, "tenant", "set", tenant, "--name", "Acme A/S", "--director",
            "d@acme.example", "--url", notify.url)  # fmt: skip
        async with httpx.AsyncClient(base_url=notify.url, headers=token(tenant, "admin")) as api:
            r = await api.patch(path, json={"follow_up_days": 9})
            assert r.status_code == 200, r.text
            assert (r.json()["display_name"], r.json()["default_director"]) == (
                "Acme A/S", "d@acme.example",
            )  # fmt: skip
            # The command line: only the flags given change.
            run(cli_env, "tenant", "set", tenant, "--locale", "da", "--url", notify.url)
            now = (await api.get(path)).json()
            assert (now["follow_up_days"], now["locale"], now["display_name"]) == (
                9,
                "da",
                "Acme A/S",
            )

            for body, field in (
                ({"follow_up_days": 0}, "follow_up_days"),
                ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
                ({"sender_email": "not an address"}, "sender_email"),
                ({"display_name": None}, "display_name"),
                ({"weather": "fine"}, "weather"),
            ):
                r = await api.patch(path, json=body)
                assert r.status_code == 422, (body, r.text)
                assert [d["field"] for d in r.json()["error"]["details"]] == [field], r.text
            # A null clears a setting that may be empty.
            r = await api.patch(path, json={"default_director": None})
            assert (r.status_code, r.json()["default_director"]) == (200, None), r.text
            for role in ("director", "agent", "viewer", "ops"):
                r = await api.patch(path, json={"locale": "en"}, headers=token(tenant, role))
                assert r.status_code == 403, role
            other = await api.patch(f"/v1/tenants/{tenant}-x/settings", json={"locale": "en"})
            assert other.status_code == 403

            # A chat webhook change is a tenant entry too; the next settings change is diffed
            # against the last settings, not against it.
            hook = "https://hooks.slack.com/services/T000/B000/secret\n"
            run(cli_env, "chat", "webhook", "set", "--tenant", tenant, "--stdin", "--url",
                notify.url, stdin=hook)  # fmt: skip
            r = await api.patch(path, json={"anonymity_k": 7})
            assert r.status_code == 200, r.text

            async def entries() -> list[dict[str, Any]]:
                r = await api.get(f"/v1/tenants/{tenant}/audit", params={"kind": "tenant"})
                return [e for e in r.json()["entries"] if e["target"] == "settings"]

            async def five() -> bool:
                return len(await entries()) >= 5

            await wait_until(five, 60, "five settings entries")
            got = list(reversed(await entries()))
            assert [e["action"] for e in got] == ["tenant.created"] + ["tenant.changed"] * 4
            assert [e["detail"]["changed"] for e in got[1:]] == [
                {"follow_up_days": {"from": 5, "to": 9}},
                {"locale": {"from": "en", "to": "da"}},
                {"default_director": {"from": "d@acme.example", "to": None}},
                {"anonymity_k": {"from": 5, "to": 7}},
            ]
            assert {e["actor"]["sub"] for e in got} == {"ops-olga", "ada@acme.example"}
            assert got[-1]["actor"] == {"sub": "ada@acme.example", "role": "admin"}
            assert got[-1]["detail"]["settings"]["follow_up_days"] == 9
    finally:
        notify.stop()
