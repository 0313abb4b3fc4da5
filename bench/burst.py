"""Deadline-day burst: post answers through ingest's batch endpoint as fast as the machine
allows, with the whole system running, and measure what happens downstream.

Prints accepted answers per second, peak consumer lag, drain time (last 202 -> every consumer
at the end of its topics) and the loss count (acknowledged but not stored; must be 0), beside a
raw baseline measured in the same run: the same number of records of the same size produced
straight to Kafka with the idempotent producer (no HTTP, no validation).

    uv run python bench/burst.py            # 20,000 answers (about two minutes with start-up)
    uv run python bench/burst.py --full     # 200,000 answers
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from anbefal.cli.ops import metric_sum
from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import GENERIC_API, response_event_id
from anbefal.common.kafka import Publisher
from anbefal.common.services import CONSUMERS
from anbefal.devstack.benchsystem import bench_system
from anbefal.devstack.chaos import ChaosSystem
from anbefal.devstack.testing import TEST_JWT_SECRET


def answer(i: int, now: datetime) -> dict[str, Any]:
    return {
        "response_id": f"b-{i}",
        "score": i % 11,
        "comment": "deadline day",
        "answered_at": (now - timedelta(minutes=i % 1440)).isoformat(),
        "respondent": {"id": f"c-{i % 5000}"},
        "segments": {"department": f"d{i % 8}", "country": ("DK", "SE", "NO")[i % 3]},
        "owners": {"director": "director@burst.example"},
    }


async def post_burst(
    url: str, token: str, total: int, batch: int, concurrency: int
) -> tuple[set[int], float]:
    """Returns the indices acknowledged and the wall time of the burst."""
    now = datetime.now(UTC)
    queue: asyncio.Queue[tuple[range, bytes]] = asyncio.Queue()
    for start in range(0, total, batch):
        indices = range(start, min(start + batch, total))
        body = orjson.dumps({"responses": [answer(i, now) for i in indices]})
        queue.put_nowait((indices, body))
    acked: set[int] = set()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            indices, body = queue.get_nowait()
            while True:  # a burst sender retries 503s, as survey tools do
                r = await client.post(url, content=body, headers=headers)
                if r.status_code == 202:
                    acked.update(indices)
                    break
                if r.status_code != 503:
                    raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
                await asyncio.sleep(0.2)

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return acked, time.perf_counter() - started


async def raw_baseline(bootstrap: str, total: int, batch: int) -> float:
    """Records/s of the same size produced straight to Kafka (a topic nobody consumes)."""
    now = datetime.now(UTC)
    value = orjson.dumps(answer(0, now)) * 2  # about the size of an event on the topic
    publisher = Publisher(bootstrap, timeout=30, client_id="burst-baseline")
    await publisher.start()
    await publisher.wait_ready(60)
    try:
        started = time.perf_counter()
        for start in range(0, total, batch):
            n = min(batch, total - start)
            await publisher.send_many(
                topics.SCORES, [(f"k{start + j}".encode(), value, None) for j in range(n)]
            )
        return total / (time.perf_counter() - started)
    finally:
        await publisher.stop()


async def total_lag(client: httpx.AsyncClient, system: ChaosSystem) -> int:
    lag = 0
    for service in CONSUMERS:
        try:
            text = (await client.get(f"{system.processes[service.name].metrics_url}/metrics")).text
        except httpx.HTTPError:
            continue
        lag += metric_sum(text, "anbefal_consumer_lag") or 0
    return lag


async def run(total: int, batch: int, concurrency: int) -> int:
    async with bench_system("burst") as system:
        tenant = "burst"
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="ingest", sub="burst")
        ingest_url = f"{system.url('ingest')}/v1/tenants/{tenant}/responses"

        peak = 0
        sampling = True

        async def sample() -> None:
            nonlocal peak
            async with httpx.AsyncClient(timeout=5) as client:
                while sampling:
                    peak = max(peak, await total_lag(client, system))
                    await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample())
        acked, burst_s = await post_burst(ingest_url, token, total, batch, concurrency)
        drain_started = time.perf_counter()
        await system.wait_quiescent(timeout=1800)
        drain_s = time.perf_counter() - drain_started
        sampling = False
        await sampler

        stored_rows = await system.fetch(
            "SELECT event_id FROM scoring.answers WHERE tenant = $1", tenant
        )
        stored = {row["event_id"] for row in stored_rows}
        lost = [i for i in acked if response_event_id(tenant, GENERIC_API, f"b-{i}") not in stored]
        raw = await raw_baseline(system.bootstrap, total, batch)

        accepted_per_s = len(acked) / burst_s
        print(f"answers            {total:,} in batches of {batch}, {concurrency} senders")
        print(f"accepted           {len(acked):,} in {burst_s:.1f} s = {accepted_per_s:,.0f}/s")
        print(f"raw Kafka produce  {raw:,.0f} records/s (same count and size, no HTTP)")
        print(f"ratio              {accepted_per_s / raw:.2f} of the raw baseline")
        print(f"peak lag           {peak:,} records (scoring + closed-loop + notify)")
        print(f"drain time         {drain_s:.1f} s after the last 202")
        print(f"stored             {len(stored):,}")
        print(f"lost               {len(lost)}")
        return 1 if lost else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=20_000, help="answers to post")
    parser.add_argument("--full", action="store_true", help="200,000 answers (deadline day)")
    parser.add_argument("--batch", type=int, default=500, help="answers per request (max 500)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent senders")
    args = parser.parse_args()
    total = 200_000 if args.full else args.answers
    raise SystemExit(asyncio.run(run(total, args.batch, args.concurrency)))


if __name__ == "__main__":
    main()
