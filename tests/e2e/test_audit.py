"""The audit trail through real processes and Kafka: rules, owners, sources, staff users and
tenant settings changed through the APIs and the command line each leave one entry (who, when,
what changed) in notify's `GET .../audit`, for the tenant's admin only."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from anbefal.common.auth import issue_token
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CLI = [sys.executable, "-m", "anbefal.cli.main"]
SOURCE_SECRET = "typeform-signing-secret-0123456789"
ERASED = "ida.holm@example.com"


def token(tenant: str, role: str, sub: str = "ada@acme.example") -> dict[str, str]:
    bearer = issue_token(TEST_JWT_SECRET, tenant=tenant, role=role, sub=sub)
    return {"Authorization": f"Bearer {bearer}"}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, input="a-long-password\n"
    )
    assert done.returncode == 0, done.stderr
    return done


async def test_every_change_leaves_one_entry_for_the_admin_only(stack: Any) -> None:
    url = stack.new_database()
    env = stack.service_env(url)
    logs = stack.root / "logs"
    notify = ServiceProcess("notify", env, logs).start()
    closed_loop = ServiceProcess("closed-loop", env, logs).start()
    ingest = ServiceProcess("ingest", env, logs).start()
    tenant, other = (f"audit-{uuid.uuid4().hex[:8]}" for _ in range(2))
    admin = token(tenant, "admin")
    trail = f"{notify.url}/v1/tenants/{tenant}/audit"
    try:
        await notify.wait_ready()
        await closed_loop.wait_ready()
        await ingest.wait_ready()
        cli_env = {**env, "USER": "ops-olga"}
        started = datetime.now(UTC)

        # Tenant settings from the command line: through notify's settings API.
        settings = ("--url", notify.url)
        run(cli_env, "tenant", "set", tenant, "--name", "Acme A/S", "--anonymity-k", "5", *settings)
        run(cli_env, "tenant", "set", tenant, "--name", "Acme A/S", "--anonymity-k", "7", *settings)
        # The chat webhook is a credential: set through notify's API, never on Kafka.
        hook = subprocess.run(
            [*CLI, "chat", "webhook", "set", "--tenant", tenant, "--stdin", "--url", notify.url],
            env=cli_env, capture_output=True, text=True,
            input="https://hooks.slack.com/services/T000/B000/secret-part\n",
        )  # fmt: skip
        assert hook.returncode == 0, hook.stderr
        run(cli_env, "tenant", "set", other, "--name", "Other ApS", *settings)
        # A staff login, added and then given another role.
        run(cli_env, "user", "add", "--tenant", tenant, "--email", "Ida@Acme.example",
            "--role", "agent", "--password-stdin")  # fmt: skip
        run(cli_env, "user", "add", "--tenant", tenant, "--email", "ida@acme.example",
            "--role", "director", "--password-stdin")  # fmt: skip
        run(cli_env, "user", "deactivate", "--tenant", tenant, "--email", "ida@acme.example")

        async with httpx.AsyncClient(base_url=closed_loop.url, headers=admin) as api:
            rules = (await api.get(f"/v1/tenants/{tenant}/rules")).json()["rules"]
            refused = await api.put(
                f"/v1/tenants/{tenant}/rules", json={"rules": [{**rules[0], "min_score": 99}]}
            )
            assert refused.status_code == 422
            changed = [{**rules[0], "due_hours": 24}, *rules[1:3], {**rules[3], "enabled": True}]
            r = await api.put(f"/v1/tenants/{tenant}/rules", json={"rules": changed})
            assert r.status_code == 200, r.text
            r = await api.put(
                f"/v1/tenants/{tenant}/accounts",
                content="account_id,salesperson,director\nacme,s@acme.example,d@acme.example\n",
                headers={"Content-Type": "text/csv"},
            )
            assert r.status_code == 200, r.text
            r = await api.put(f"/v1/tenants/{tenant}/people", json={"people": []})
            assert r.status_code == 200, r.text

        async with httpx.AsyncClient(base_url=ingest.url, headers=admin) as api:
            source = f"/v1/tenants/{tenant}/sources/typeform-nps"
            typeform = {"tool": "typeform", "secret": SOURCE_SECRET, "fields": {"score": "nps"}}
            r = await api.put(source, json=typeform)
            assert r.status_code == 200, r.text
            r = await api.put(
                source,
                json={
                    **typeform,
                    "secret": "a-new-typeform-signing-secret-9876543210",
                    "fields": {"score": "q"},
                },
            )
            assert r.status_code == 200, r.text
            assert (await api.delete(source)).status_code == 204
            r = await api.post(f"/v1/tenants/{tenant}/erasures", json={"email": ERASED})
            assert r.status_code == 202, r.text
            erasure_id = r.json()["id"]

        async with httpx.AsyncClient(headers=admin) as client:

            async def entries(**params: Any) -> list[dict[str, Any]]:
                r = await client.get(trail, params={"limit": 200, **params})
                assert r.status_code == 200, r.text
                got: list[dict[str, Any]] = r.json()["entries"]
                return got

            async def all_thirteen() -> bool:
                return len(await entries()) >= 13

            await wait_until(all_thirteen, 60, "thirteen audit entries")
            got = await entries()
            # One per change; the refused rule set left none.
            assert sorted(e["action"] for e in got) == [
                "erasure.requested", "owners.accounts_replaced", "owners.people_replaced",
                "rules.changed",
                "source.added", "source.changed", "source.deleted",
                "tenant.changed", "tenant.changed", "tenant.created", "user.added", "user.changed",
                "user.deactivated",
            ]  # fmt: skip
            times = [datetime.fromisoformat(e["at"]) for e in got]
            assert times == sorted(times, reverse=True)
            assert started - timedelta(seconds=5) < times[-1] <= times[0] <= datetime.now(UTC)
            by = {e["action"]: e for e in got}

            rules_entry = by["rules.changed"]
            assert rules_entry["actor"] == {"sub": "ada@acme.example", "role": "admin"}
            assert (rules_entry["kind"], rules_entry["target"]) == ("rules", "rules")
            assert rules_entry["detail"] == {
                "version": {"from": 0, "to": 1}, "added": [], "removed": [],
                "edited": ["detractor-call", "ask-why"], "reordered": False,
            }  # fmt: skip
            assert by["owners.accounts_replaced"]["detail"] == {
                "accounts": {"from": 0, "to": 1}, "segments": {"from": 0, "to": 0},
            }  # fmt: skip

            assert by["source.added"]["target"] == "source:typeform-nps"
            assert by["source.added"]["actor"] == {"sub": "ada@acme.example", "role": "admin"}
            assert by["source.changed"]["detail"] == {
                "tool": {"from": "typeform", "to": "typeform"}, "settings_changed": ["fields"],
                "secret_changed": True, "api_token_changed": False,
            }  # fmt: skip
            assert by["source.deleted"]["detail"] == {}
            assert SOURCE_SECRET not in json.dumps(got)
            assert "a-new-typeform-signing-secret-9876543210" not in json.dumps(got)

            erasure = by["erasure.requested"]
            assert (erasure["target"], erasure["actor"]["role"]) == (
                f"erasure:{erasure_id}",
                "admin",
            )
            assert ERASED not in json.dumps(got)  # whom, only by the erasure's receipt id

            olga = {"sub": "ops-olga", "role": "cli"}
            # The command line's own token for the settings API: its user, as an admin.
            assert by["tenant.created"]["actor"] == {"sub": "ops-olga", "role": "admin"}
            assert by["tenant.created"]["target"] == "settings"
            (settings_changed,) = [
                e for e in got if e["action"] == "tenant.changed" and e["target"] == "settings"
            ]
            assert settings_changed["detail"]["changed"] == {"anonymity_k": {"from": 5, "to": 7}}
            (hooked,) = [e for e in got if e["target"] == "chat_webhook"]
            assert hooked["actor"] == {"sub": "ops-olga", "role": "admin"}
            assert hooked["detail"] == {"chat_webhook_set": {"from": False, "to": True}}
            assert "secret-part" not in json.dumps(got)

            assert by["user.added"]["actor"] == olga
            assert by["user.added"]["target"] == "user:ida@acme.example"
            assert by["user.changed"]["detail"]["role"] == {"from": "agent", "to": "director"}
            deactivated = by["user.deactivated"]
            assert (deactivated["actor"], deactivated["target"]) == (olga, "user:ida@acme.example")
            assert "a-long-password" not in json.dumps(got)

            # Filters: by kind, by time; pages follow the cursor without gaps or repeats.
            assert [e["action"] for e in await entries(kind="user")] == [
                "user.deactivated", "user.changed", "user.added",
            ]  # fmt: skip
            assert await entries(**{"from": datetime.now(UTC).isoformat()}) == []
            assert [e["id"] for e in await entries(to=got[1]["at"])] == [
                e["id"] for e, at in zip(got, times, strict=True) if at < times[1]
            ]
            paged: list[str] = []
            params = {"limit": 3}
            while True:
                page = (await client.get(trail, params=params)).json()
                paged += [e["id"] for e in page["entries"]]
                if page["next_cursor"] is None:
                    break
                params["cursor"] = page["next_cursor"]
            assert paged == [e["id"] for e in got]
            r = await client.get(trail, params={"cursor": "not-a-cursor"})
            assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_cursor")
            r = await client.get(trail, params={"kind": "weather"})
            assert r.status_code == 422

            # The admin only, and only their own tenant's entries.
            for role in ("director", "agent", "viewer", "ops", "ingest"):
                r = await client.get(trail, headers=token(tenant, role))
                assert r.status_code == 403, role
            r = await client.get(trail, headers=token(other, "admin"))
            assert r.status_code == 403
            r = await client.get(
                f"{notify.url}/v1/tenants/{other}/audit", headers=token(other, "admin")
            )
            assert [
                (e["action"], e["detail"]["settings"]["display_name"]) for e in r.json()["entries"]
            ] == [("tenant.created", "Other ApS")]

        # The command line prints the same trail.
        printed = run(
            cli_env, "audit", "--tenant", tenant, "--kind", "rules", "--url", notify.url
        ).stdout.splitlines()
        assert len(printed) == 1
        assert "ada@acme.example (admin)  rules.changed  rules" in printed[0]
        lines: Sequence[str] = run(
            cli_env, "audit", "--tenant", tenant, "--json", "--limit", "2", "--url", notify.url
        ).stdout.splitlines()
        assert [json.loads(line)["id"] for line in lines] == [e["id"] for e in got[:2]]
    finally:
        ingest.stop()
        closed_loop.stop()
        notify.stop()
