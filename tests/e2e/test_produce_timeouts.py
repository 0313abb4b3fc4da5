"""A batch of answers waits longer for the broker's acknowledgement than a single answer: a
single answer's 503 comes quickly (its sender retries one answer), while a 500-answer batch,
whose acknowledgement takes longer on a loaded machine, is not refused for missing a timeout
tuned for one record."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from anbefal.common.auth import issue_token
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
async def ingest(stack: Any) -> AsyncIterator[ServiceProcess]:
    # No single record can be acknowledged in 1 ms: the producer alone lingers 2 ms before it
    # sends. The batch timeout keeps its default.
    env = stack.service_env(stack.new_database(), ANBEFAL_PRODUCE_TIMEOUT_S="0.001")
    process = ServiceProcess("ingest", env, stack.root / "logs").start()
    try:
        await process.wait_ready()
        yield process
    finally:
        process.stop()


def answer(response_id: str, i: int) -> dict[str, Any]:
    return {
        "response_id": response_id,
        "score": i % 11,
        "answered_at": datetime.now(UTC).isoformat(),
        "respondent": {"id": f"c-{i}"},
    }


async def test_a_batch_is_not_refused_by_the_single_answers_timeout(
    ingest: ServiceProcess,
) -> None:
    tenant = f"pt-{uuid.uuid4().hex[:8]}"
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="ingest", sub="e2e")
    url = f"{ingest.url}/v1/tenants/{tenant}/responses"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        single = await c.post(url, json=answer("one", 1))
        assert single.status_code == 503, single.text
        assert single.headers["Retry-After"]
        batch = await c.post(url, json={"responses": [answer(f"b-{i}", i) for i in range(500)]})
        assert batch.status_code == 202, batch.text
        assert batch.json()["new"] == 500
