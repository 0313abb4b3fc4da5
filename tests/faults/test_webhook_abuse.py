"""Abuse of the signed webhook path, with the pipeline running and a tight per-tenant rate:
forged and stale signatures, unknown sources, oversized bodies, the same delivery many times at
once, and a flood the rate limit answers with 429 + Retry-After that the senders honour, while
junk aimed at the tenant and at invented tenants pours in beside it. Nothing unsigned is
published or stored beyond a sampled line, the junk spends none of the tenant's rate, nothing
acknowledged is lost, nothing is counted twice."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from anbefal.common.auth import issue_token
from anbefal.devstack import surveytools as tools
from anbefal.devstack.chaos import ChaosSystem, Outcome, TypeformGenerator, check, scale
from anbefal.devstack.testing import TEST_JWT_SECRET

pytestmark = [pytest.mark.fault, pytest.mark.integration]

SECRET = "abuse-typeform-secret-of-32-chars-or-more"
RATE = 40  # requests per second per tenant


@pytest.fixture
async def limited_system(stack: Any) -> AsyncIterator[ChaosSystem]:
    env = stack.service_env(
        stack.new_database(),
        ANBEFAL_INGEST_TENANT_RATE_PER_S=str(RATE),
        ANBEFAL_INGEST_TENANT_BURST=str(RATE),
    )
    system = ChaosSystem(stack.root, env)
    try:
        await system.skip_history()  # only this test's answers to drain before the checks
        await system.start()
        yield system
    finally:
        system.stop()


async def add_source(system: ChaosSystem, tenant: str, name: str, body: dict[str, Any]) -> None:
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="chaos")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
        r = await client.put(
            f"{system.url('ingest')}/v1/tenants/{tenant}/sources/{name}", json=body
        )
        assert r.status_code == 200, r.text


async def test_signed_webhook_abuse_and_a_rate_limited_flood(limited_system: ChaosSystem) -> None:
    system = limited_system
    tenant = f"wabuse-{uuid.uuid4().hex[:8]}"
    await add_source(
        system,
        tenant,
        "typeform",
        {"tool": "typeform", "secret": SECRET, "fields": {"score": "nps"}},
    )
    await add_source(system, tenant, "std", {"tool": "generic", "secret": tools.WHSEC})
    generator = TypeformGenerator(
        system.url("ingest"), tenant, retry=True, concurrency=scale(24, 64), secret=SECRET
    )
    hook = generator.url
    answer = {"response_id": "g-1", "score": 5, "answered_at": "2026-11-30T10:00:00Z"}

    async def post(url: str, signed: tools.Signed) -> httpx.Response:
        # Honour 429 here too: this part is about what each refusal says, not the limiter.
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                r = await client.post(url, content=signed.body, headers=signed.headers)
                if r.status_code != 429:
                    return r
                await asyncio.sleep(float(r.headers["retry-after"]))

    good = tools.typeform(SECRET, token="dup-1", score=2)
    forged = tools.Signed(good.body.replace(b'"number":2', b'"number":10'), good.headers)
    wrong_key = tools.typeform("not-the-secret", token="wk-1", score=9)
    std = f"{system.url('ingest')}/v1/webhooks/{tenant}/std"
    refusals = {
        "forged body": (hook, forged, 401),
        "wrong key": (hook, wrong_key, 401),
        "no signature": (hook, tools.Signed(good.body, {"content-type": "application/json"}), 401),
        "stale timestamp": (std, tools.generic(tools.WHSEC, answer, at=time.time() - 400), 401),
        "future timestamp": (std, tools.generic(tools.WHSEC, answer, at=time.time() + 400), 401),
        "unknown source": (f"{system.url('ingest')}/v1/webhooks/{tenant}/nope", good, 401),
        "oversized": (hook, tools.Signed(b"[" + b"0," * 700_000 + b"0]", good.headers), 413),
    }
    for name, (url, signed, expected) in refusals.items():
        r = await post(url, signed)
        assert r.status_code == expected, (name, r.status_code, r.text)

    # The same signed delivery 20 times at once (a tool retrying on timeouts): stored once.
    async with httpx.AsyncClient(timeout=30) as client:
        same = await asyncio.gather(
            *(client.post(hook, content=good.body, headers=good.headers) for _ in range(20))
        )
    assert {r.status_code for r in same} <= {200, 202, 429}
    assert any(r.status_code == 202 for r in same)
    generator.history.append(Outcome("dup-1", 202, len(same)))

    # A flood well over the tenant's rate: 429s with Retry-After, retried, all get in; beside
    # it, junk to the tenant's hook and to invented tenants, which must not slow it down.
    count = scale(300, 5_000)
    junk = tools.typeform("not-the-secret", token="junk", score=0)
    junk_statuses: list[int] = []

    async def pour_junk() -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            for n in range(scale(400, 4_000)):
                target = hook if n % 2 else hook.replace(tenant, f"nobody-{n}")
                r = await client.post(target, content=junk.body, headers=junk.headers)
                junk_statuses.append(r.status_code)
                assert "rejected_id" not in r.text

    started = time.monotonic()
    await asyncio.gather(generator.send(generator.ids(0, count), duplicate_share=0.2), pour_junk())
    elapsed = time.monotonic() - started
    assert set(junk_statuses) <= {401, 429}
    assert 429 in junk_statuses  # junk meets its own limit, not the tenant's
    kept = await system.fetch(
        "SELECT count(*) AS n FROM ingest.rejected WHERE tenant = $1 OR tenant LIKE 'nobody-%'",
        tenant,
    )
    assert kept[0]["n"] == 0  # no unverified body stored
    lines = await system.fetch(
        "SELECT tenant, count FROM ingest.unverified_deliveries"
        " WHERE tenant = $1 OR tenant LIKE 'nobody-%'",
        tenant,
    )
    # The cap on sampled lines (a burst of 60, then 0.5 a second; 7 from the refusals above),
    # not one per junk request.
    assert len(lines) <= 7 + 60 + 0.5 * elapsed
    limited = sum(1 for o in generator.history if o.attempts > 1)
    assert limited > 0, "the flood never met the rate limit"
    verdict = await check(system, generator, "signed webhook abuse + 429 flood")
    assert verdict.problems == []
    assert verdict.lost == 0
    assert verdict.stored == len(generator.acknowledged) == count + 1
