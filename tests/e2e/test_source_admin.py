"""The sources' admin API that the web app's page and the CLI share, through a real ingest: the
webhook URL a source shows, a secret rotation (the old one refused, the new one accepted, the
change audited), each source's last deliveries with their outcomes, and its refused bodies."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import AuditEntry
from anbefal.devstack import surveytools as tools
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, published, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
async def ingest(stack: Any) -> AsyncIterator[tuple[ServiceProcess, str, dict[str, str]]]:
    url = stack.new_database()
    env = stack.service_env(url, ANBEFAL_INGEST_DELIVERY_LOG_FLUSH_S="0.2")
    process = ServiceProcess("ingest", env, stack.root / "logs").start()
    try:
        await process.wait_ready()
        yield process, url, env
    finally:
        process.stop()


def admin(tenant: str) -> dict[str, str]:
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="ada@e2e")
    return {"Authorization": f"Bearer {token}"}


def cli(env: dict[str, str], url: str, *args: str, stdin: str = "") -> Any:
    return subprocess.run(
        [sys.executable, "-m", "anbefal.cli.main", *args, "--url", url],
        env={**env, "ANBEFAL_JWT_SECRET": TEST_JWT_SECRET}, input=stdin, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


async def test_rotate_a_secret_and_see_the_deliveries(
    ingest: tuple[ServiceProcess, str, dict[str, str]],
) -> None:
    process, _, env = ingest
    tenant = f"src-{uuid.uuid4().hex[:8]}"
    base = f"{process.url}/v1/tenants/{tenant}/sources"
    async with httpx.AsyncClient(base_url=process.url, headers=admin(tenant), timeout=10) as api:
        body = {"tool": "typeform", "fields": {"score": "nps"}}
        added = (await api.put(f"{base}/tf", json=body)).json()
        assert added["webhook_url"] == f"{process.url}/v1/webhooks/{tenant}/tf"
        old = added["generated_secret"]
        hook = added["webhook_url"]
        async with httpx.AsyncClient(timeout=10) as tool:
            signed = tools.typeform(old, token="r-1", score=9)
            assert (
                await tool.post(hook, content=signed.body, headers=signed.headers)
            ).status_code == 202

            rotated = await api.post(f"{base}/tf/rotate-secret", json={})
            assert rotated.status_code == 200, rotated.text
            new = rotated.json()["generated_secret"]
            assert new
            assert new != old
            assert rotated.json()["config"]["fields"]["score"] == "nps"  # the rest is kept
            assert (await api.get(f"{base}/tf")).json()["generated_secret"] is None  # once
            stale = tools.typeform(old, token="r-2", score=9)
            assert (
                await tool.post(hook, content=stale.body, headers=stale.headers)
            ).status_code == 401
            fresh = tools.typeform(new, token="r-2", score=9)
            assert (
                await tool.post(hook, content=fresh.body, headers=fresh.headers)
            ).status_code == 202
            # Signed, but not a 0-10 answer: refused and kept, under this source.
            bad = tools.typeform(new, token="r-3", score=11)
            assert (await tool.post(hook, content=bad.body, headers=bad.headers)).status_code == 422

        lines: list[dict[str, Any]] = []

        async def all_noted() -> bool:
            nonlocal lines
            lines = (await api.get(f"{base}/tf/deliveries")).json()["deliveries"]
            return sum(line["count"] for line in lines) == 4

        await wait_until(all_noted, 15, "four deliveries noted")
        outcomes = {(line["status_code"], line["outcome"]): line["count"] for line in lines}
        assert outcomes == {
            (202, "accepted"): 2, (401, "bad_signature"): 1, (422, "invalid_response"): 1
        }  # fmt: skip
        assert all(len(line["last_trace_id"]) >= 16 for line in lines)

        kept = (await api.get(f"/v1/tenants/{tenant}/rejected", params={"source": "tf"})).json()
        assert [r["source"] for r in kept["rejected"]] == ["tf"]
        none = (await api.get(f"/v1/tenants/{tenant}/rejected", params={"source": "other"})).json()
        assert none["rejected"] == []

        # A tool that issues its own secret: it is pasted, and checked.
        fb = {"tool": "formbricks", "fields": {"score": "q1"}, "secret": "whsec_" + "A" * 40}
        assert (await api.put(f"{base}/fb", json=fb)).status_code == 200
        refused = await api.post(f"{base}/fb/rotate-secret", json={})
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "secret_required"
        short = await api.post(f"{base}/fb/rotate-secret", json={"secret": "whsec_abc"})
        assert short.status_code == 422
        assert short.json()["error"]["details"][0]["field"] == "secret"
        pasted = await api.post(f"{base}/fb/rotate-secret", json={"secret": "whsec_" + "B" * 40})
        assert pasted.status_code == 200
        assert pasted.json()["generated_secret"] is None
        missing = await api.post(f"{base}/nope/rotate-secret", json={})
        assert missing.status_code == 404

    async def rotations() -> int:
        values = await published(env["ANBEFAL_KAFKA_BOOTSTRAP"], topics.AUDIT, tenant)
        entries = [AuditEntry.model_validate_json(v) for v in values]
        return [e.action for e in entries if e.tenant == tenant].count("source.secret_rotated")

    async def both() -> bool:
        return await rotations() >= 2

    await wait_until(both, 30, "both rotations in the audit trail")
    assert await rotations() == 2


async def test_the_cli_rotates_and_lists_deliveries(
    ingest: tuple[ServiceProcess, str, dict[str, str]],
) -> None:
    process, _, env = ingest
    tenant = f"src-{uuid.uuid4().hex[:8]}"
    made = await asyncio.to_thread(
        cli, env, process.url, "source", "add", "tf", "--tenant", tenant, "--tool", "typeform",
        "--score-field", "nps", "--secret-stdin", stdin="\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert f"webhook URL: {process.url}/v1/webhooks/{tenant}/tf" in made.stdout
    old = made.stdout.split("paste it into typeform): ")[1].strip()
    rotated = await asyncio.to_thread(
        cli, env, process.url, "source", "rotate", "tf", "--tenant", tenant
    )
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.split("paste it into typeform): ")[1].strip()
    assert new != old
    hook = f"{process.url}/v1/webhooks/{tenant}/tf"
    async with httpx.AsyncClient(timeout=10) as tool:
        signed = tools.typeform(new, token="c-1", score=3)
        assert (
            await tool.post(hook, content=signed.body, headers=signed.headers)
        ).status_code == 202

    async def listed() -> bool:
        out = await asyncio.to_thread(
            cli, env, process.url, "source", "deliveries", "tf", "--tenant", tenant
        )
        return "\t202\taccepted\tx1\t" in out.stdout

    await wait_until(listed, 30, "the delivery listed by the CLI")


async def test_a_clean_stop_writes_the_counts_it_holds(stack: Any) -> None:
    env = stack.service_env(stack.new_database(), ANBEFAL_INGEST_DELIVERY_LOG_FLUSH_S="600")
    tenant = f"src-{uuid.uuid4().hex[:8]}"
    first = ServiceProcess("ingest", env, stack.root / "logs").start()
    try:
        await first.wait_ready()
        async with httpx.AsyncClient(base_url=first.url, headers=admin(tenant)) as api:
            body = {"tool": "typeform", "fields": {"score": "nps"}}
            added = (await api.put(f"/v1/tenants/{tenant}/sources/tf", json=body)).json()
        signed = tools.typeform(added["generated_secret"], token="s-1", score=8)
        async with httpx.AsyncClient(timeout=10) as tool:
            r = await tool.post(added["webhook_url"], content=signed.body, headers=signed.headers)
        assert r.status_code == 202, r.text
    finally:
        first.stop()  # SIGTERM: long before the next write was due
    again = ServiceProcess("ingest", env, stack.root / "logs").start()
    try:
        await again.wait_ready()
        async with httpx.AsyncClient(base_url=again.url, headers=admin(tenant)) as api:
            lines = (await api.get(f"/v1/tenants/{tenant}/sources/tf/deliveries")).json()
    finally:
        again.stop()
    assert [(d["status_code"], d["outcome"], d["count"]) for d in lines["deliveries"]] == [
        (202, "accepted", 1)
    ]
