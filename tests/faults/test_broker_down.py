"""With the broker gone, ingest answers 503 with Retry-After within 2 seconds, never 202."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.devstack.kafka import create_topics, start_kafka
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, free_port

pytestmark = [pytest.mark.fault, pytest.mark.integration]


async def test_broker_down_gives_503_quickly_and_recovers(stack: Any) -> None:
    # A broker of this test's own, so stopping it disturbs no other test.
    broker = start_kafka(
        stack.root / f"kafka-down-{uuid.uuid4().hex[:6]}", free_port(), free_port()
    )
    ingest = None
    try:
        await create_topics(broker.bootstrap, topics.ALL_TOPICS)
        env = stack.service_env(stack.new_database(), ANBEFAL_KAFKA_BOOTSTRAP=broker.bootstrap)
        ingest = ServiceProcess("ingest", env, stack.root / "logs").start()
        await ingest.wait_ready()
        tenant = "broker-down"
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="ingest", sub="test")
        url = f"{ingest.url}/v1/tenants/{tenant}/responses"

        def body(i: int) -> dict[str, Any]:
            return {
                "response_id": f"r-{i}",
                "score": 9,
                "answered_at": datetime.now(UTC).isoformat(),
            }

        async with httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            assert (await client.post(url, json=body(0))).status_code == 202

            broker.kill()
            for i in range(1, 6):
                started = time.monotonic()
                r = await client.post(url, json=body(i))
                elapsed = time.monotonic() - started
                assert r.status_code == 503, r.text
                assert int(r.headers["Retry-After"]) > 0
                assert r.json()["error"]["code"] == "broker_unavailable"
                assert elapsed <= 2.0, f"503 took {elapsed:.2f}s"

            broker.restart()
            deadline = time.monotonic() + 90
            while True:
                r = await client.post(url, json=body(100))
                if r.status_code == 202:
                    break
                assert r.status_code == 503, r.text
                assert time.monotonic() < deadline, (
                    "ingest did not recover after the broker came back"
                )
    finally:
        if ingest is not None:
            ingest.stop()
        broker.stop()
