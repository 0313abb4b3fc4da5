"""Latency a user notices: from an answer's 202 to its action on Kafka and its task stored.

Posts single answers with a comment (so nothing waits for a late comment) at fixed rates, with
the whole system running, and prints per rate the p50/p90/p99 of

- 202 -> action published (the `Action` record read back from `anbefal.actions.v1`),
- 202 -> task stored (the row visible in notify's tasks table; scores 0-8 make tasks),
- and post -> 202 itself, which grows when ingest cannot keep the rate,
- and where that time went: each service's `anbefal_hop_seconds` histogram for the run, one line
  per stage (count, mean, and p50/p90 read from the buckets: "<= 25 ms" means that bucket),

beside a raw baseline measured in the same run at the same rate: one record produced to the
same broker and read back by a consumer (the least any hop through Kafka costs).

    uv run python bench/latency.py                      # 50/s and 200/s, 20 s each
    uv run python bench/latency.py --rates 50 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import GENERIC_API, Action, action_id, response_event_id
from anbefal.common.kafka import Publisher
from anbefal.common.nps import DETRACTORS, PASSIVES
from anbefal.common.topics import TopicSpec
from anbefal.devstack.benchsystem import bench_system
from anbefal.devstack.chaos import ChaosSystem
from anbefal.devstack.kafka import create_topics
from anbefal.devstack.loadgen import HttpLoad, at_rate
from anbefal.devstack.testing import TEST_JWT_SECRET, asyncpg_dsn, end_offsets

BASELINE_TOPIC = "anbefal.bench-latency"


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p90, p99 in milliseconds."""
    if len(samples) < 2:
        value = samples[0] * 1000 if samples else float("nan")
        return value, value, value
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[89] * 1000, cuts[98] * 1000


async def tail_consumer(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    """A consumer of every partition of `topic`, from its current end."""
    ends = await end_offsets(bootstrap, [topic])
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    consumer.assign([TopicPartition(t, p) for t, p in ends])
    for (t, p), offset in ends.items():
        consumer.seek(TopicPartition(t, p), offset)
    return consumer


async def raw_round_trips(bootstrap: str, rate: float, seconds: float) -> list[float]:
    """Produce -> consume on the same broker at the same rate: seconds per record."""
    publisher = Publisher(bootstrap, timeout=30, client_id="bench-latency")
    await publisher.start()
    await publisher.wait_ready(60)
    consumer = await tail_consumer(bootstrap, BASELINE_TOPIC)
    sent: dict[bytes, float] = {}
    trips: list[float] = []
    total = int(rate * seconds)

    async def read() -> None:
        while len(trips) < total:
            batches = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batches.values():
                trips.extend(now - sent[r.key] for r in records if r.key in sent)

    async def send(i: int) -> None:
        key = f"k{i}".encode()
        sent[key] = time.perf_counter()
        await publisher.send_many(BASELINE_TOPIC, [(key, b"x" * 700, None)])

    reader = asyncio.create_task(read())
    try:
        await at_rate(rate, seconds, send)
        await asyncio.wait_for(reader, 60)
    finally:
        reader.cancel()
        await consumer.stop()
        await publisher.stop()
    return trips


class Pipeline:
    """Posts answers and watches for their actions and tasks."""

    def __init__(self, system: ChaosSystem, tenant: str) -> None:
        self.system, self.tenant = system, tenant
        self.url = f"{system.url('ingest')}/v1/tenants/{tenant}/responses"
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="ingest", sub="bench")
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.posted: dict[uuid.UUID, float] = {}  # event id -> when it was sent (on schedule)
        self.accepted: dict[uuid.UUID, float] = {}  # event id -> when its 202 came
        self.published: dict[uuid.UUID, float] = {}  # event id -> its first action read back
        self.stored: dict[uuid.UUID, float] = {}  # event id -> its task first seen
        self.expected_tasks: dict[uuid.UUID, uuid.UUID] = {}  # event id -> its task's action

    async def post(self, client: HttpLoad, run: str, i: int) -> None:
        rid = f"{run}-{i}"
        score = i % 11
        body = {
            "response_id": rid,
            "score": score,
            "comment": "latency",
            "answered_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
            "respondent": {"id": f"c-{rid}", "email": f"{rid}@bench.example"},
            "owners": {"director": "director@bench.example", "salesperson": "sp@bench.example"},
        }
        event_id = response_event_id(self.tenant, GENERIC_API, rid)
        self.posted[event_id] = time.perf_counter()
        r = await client.post(self.url, content=orjson.dumps(body), headers=self.headers)
        if r.status_code != 202:
            raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
        self.accepted[event_id] = time.perf_counter()
        if score <= PASSIVES.high:  # the seed rules: a call or a follow-up task
            rule = "detractor-call" if score <= DETRACTORS.high else "passive-follow-up"
            self.expected_tasks[event_id] = action_id(event_id, rule)

    async def watch_actions(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    action = Action.model_validate_json(record.value or b"{}")
                    if action.tenant == self.tenant:
                        self.published.setdefault(action.response_event_id, now)

    async def watch_tasks(self, stop: asyncio.Event) -> None:
        """Looks up the tasks still awaited by their unique action id every 20 ms (so a figure
        is up to that much late, and the lookups cost the system little)."""
        conn = await asyncpg.connect(asyncpg_dsn(self.system.database_url))
        try:
            while not stop.is_set():
                pending = {a: e for e, a in self.expected_tasks.items() if e not in self.stored}
                if pending:
                    rows = await conn.fetch(
                        "SELECT action_id FROM notify.tasks WHERE action_id = ANY($1::uuid[])",
                        list(pending),
                    )
                    now = time.perf_counter()
                    for row in rows:
                        self.stored.setdefault(pending[row["action_id"]], now)
                await asyncio.sleep(0.02)
        finally:
            await conn.close()

    async def run(
        self, rate: float, seconds: float
    ) -> tuple[list[float], list[float], list[float]]:
        """Seconds from post to 202, from 202 to the action, from 202 to the task."""
        run = f"r{int(rate)}-{uuid.uuid4().hex[:6]}"
        self.posted.clear()
        self.accepted.clear()
        self.published.clear()
        self.stored.clear()
        self.expected_tasks.clear()
        consumer = await tail_consumer(self.system.bootstrap, topics.ACTIONS)
        stop = asyncio.Event()
        watchers = [
            asyncio.create_task(self.watch_actions(consumer, stop)),
            asyncio.create_task(self.watch_tasks(stop)),
        ]
        try:
            # An answer that waits for a free connection counts that wait in "post -> 202".
            async with HttpLoad(connections=64) as client:
                await at_rate(rate, seconds, lambda i: self.post(client, run, i))
            deadline = time.perf_counter() + 120
            while time.perf_counter() < deadline and (
                len(self.published) < len(self.accepted)
                or not self.expected_tasks.keys() <= self.stored.keys()
            ):
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await asyncio.gather(*watchers)
            await consumer.stop()
        missing = len(self.accepted) - len(self.published)
        tasks_missing = len(self.expected_tasks.keys() - self.stored.keys())
        if missing or tasks_missing:
            raise RuntimeError(
                f"{missing} actions and {tasks_missing} tasks did not arrive within 120 s"
            )
        to_202 = [t - self.posted[e] for e, t in self.accepted.items()]
        to_action = [self.published[e] - t for e, t in self.accepted.items()]
        to_task = [self.stored[e] - self.accepted[e] for e in self.expected_tasks]
        return to_202, to_action, to_task


# (service, stage) -> (bucket upper bound -> cumulative count, sum of seconds)
Hops = dict[tuple[str, str], tuple[dict[float, float], float]]


async def scrape_hops(system: ChaosSystem) -> Hops:
    """Every service's `anbefal_hop_seconds` histogram as it stands."""
    hops: Hops = {}
    async with httpx.AsyncClient(timeout=10) as client:
        for service, process in system.processes.items():
            text = (await client.get(f"{process.metrics_url}/metrics")).text
            for family in text_string_to_metric_families(text):
                if family.name not in ("anbefal_hop_seconds", "anbefal_hop_part_seconds"):
                    continue
                for sample in family.samples:
                    stage = sample.labels["stage"]
                    if "part" in sample.labels:  # listed under its stage, indented
                        stage = f"{stage}  · {sample.labels['part']}"
                    key = (service, stage)
                    buckets, total = hops.get(key, ({}, 0.0))
                    if sample.name.endswith("_bucket"):
                        buckets[float(sample.labels["le"])] = sample.value
                    elif sample.name.endswith("_sum"):
                        total = sample.value
                    hops[key] = (buckets, total)
    return hops


def bucket_of(counts: dict[float, float], q: float) -> str:
    """The histogram bucket the `q` quantile falls in."""
    total = counts[float("inf")]
    le = next(le for le, n in counts.items() if n >= q * total)
    return f"<= {le * 1000:.0f} ms" if le != float("inf") else "> 60 s"


def hop_lines(before: Hops, after: Hops) -> list[str]:
    """One line per stage with hops between the two scrapes."""
    lines = []
    for (service, stage), (buckets, total) in sorted(after.items()):
        old_buckets, old_total = before.get((service, stage), ({}, 0.0))
        counts = {le: n - old_buckets.get(le, 0.0) for le, n in sorted(buckets.items())}
        count = counts.get(float("inf"), 0.0)
        if not count:
            continue

        mean = (total - old_total) / count * 1000
        lines.append(
            f"  {service:<11} {stage:<58} n={count:<6.0f} mean {mean:6.0f} ms"
            f"  p50 {bucket_of(counts, 0.5):>11}  p90 {bucket_of(counts, 0.9):>11}"
        )
    return lines


def line(label: str, samples: list[float]) -> str:
    p50, p90, p99 = percentiles(samples)
    return (
        f"  {label:<34} p50 {p50:7.0f} ms  p90 {p90:7.0f} ms  p99 {p99:7.0f} ms  (n={len(samples)})"
    )


async def main_async(rates: list[float], seconds: float, warmup: float) -> int:
    summary: list[str] = []
    async with bench_system("latency") as system:
        # Created before the warm-up, so its partitions have leaders by the time it is read.
        await create_topics(system.bootstrap, [TopicSpec(BASELINE_TOPIC, 6)])
        pipeline = Pipeline(system, "latency")
        print(f"warm-up: {warmup:.0f} s at 20/s (not counted)")
        await pipeline.run(20, warmup)
        for rate in rates:
            print(f"== {rate:.0f} answers/s for {seconds:.0f} s, each with a comment")
            base = await raw_round_trips(system.bootstrap, rate, seconds)
            before = await scrape_hops(system)
            to_202, to_action, to_task = await pipeline.run(rate, seconds)
            await asyncio.sleep(2)  # the last mails' hop is observed once they are sent
            base50 = percentiles(base)[0]
            figures = [
                f"== {rate:.0f} answers/s for {seconds:.0f} s",
                line("raw produce -> consume (baseline)", base),
                line("post -> 202 (ingest)", to_202),
                line("202 -> action published", to_action),
                line("202 -> task stored", to_task),
                f"  ratio p50: action {percentiles(to_action)[0] / base50:.1f}x, "
                f"task {percentiles(to_task)[0] / base50:.1f}x the raw round trip",
                "  hops (anbefal_hop_seconds, this rate's answers and the rest of the system's):",
                *hop_lines(before, await scrape_hops(system)),
            ]
            print("\n".join(figures[1:]))
            summary += figures
    # Again at the end, together: the services' and the mail sink's lines came in between.
    print("\n".join(["", "== summary", *summary]))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 200], help="answers/s")
    parser.add_argument("--seconds", type=float, default=20, help="seconds at each rate")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up first")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main_async(args.rates, args.seconds, args.warmup)))


if __name__ == "__main__":
    main()
