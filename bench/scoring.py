"""Scoring: how fast a backlog drains, and how fast the scores API answers over 10 M answers.

Starts its own PostgreSQL and Kafka (like bench/burst.py) and prints, from one run:

1. Backlog drain: N answers are produced to `anbefal.responses.v1` first, then the scoring
   process starts; the rate is taken from its first committed batch to the last (start-up
   excluded), from the offsets it stores in PostgreSQL. Beside it, the raw baseline: the same
   answers applied by a bare asyncpg loop on the same server in the same run (per batch of
   500, one transaction: unnest INSERT of the answers ... ON CONFLICT DO NOTHING RETURNING,
   bucket upsert of the deltas pre-aggregated in Python, offset UPDATE). Targets: >= 25,000
   events/s and a ratio >= 0.4. Also the scoring process's CPU-seconds per 1,000 events.
2. Scores API latency: the daily buckets of 10 M answers (50 tenants x 365 days x 10
   departments x 20 stores, 5 countries) are seeded with one generate_series INSERT, then
   VACUUM ANALYZE; then sequential GET /scores for random tenants, dimensions and windows,
   p50/p99 (target p99 <= 15 ms), beside the API's query (the window and the period before it,
   in one scan) run bare with asyncpg, and GET /healthz (the HTTP floor). The load average is
   printed too: on a shared machine every figure moves with it.

    uv run python bench/scoring.py                  # 200,000 answers to drain, 10 M seeded
    uv run python bench/scoring.py --events 50000 --requests 500   # a quicker look
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import orjson

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import (
    GENERIC_API,
    Respondent,
    Source,
    SurveyResponse,
    response_event_id,
)
from anbefal.common.kafka import Publisher
from anbefal.common.migrations import upgrade_all
from anbefal.common.nps import category
from anbefal.devstack.benchdata import SEED_10M, percentile
from anbefal.devstack.kafka import create_topics
from anbefal.devstack.paths import state_dir
from anbefal.devstack.scratch import scratch_servers
from anbefal.devstack.testing import TEST_DATA_KEYS, TEST_JWT_SECRET, ServiceProcess, asyncpg_dsn

ZONE = ZoneInfo("Europe/Copenhagen")
BATCH = 500
DIMENSIONS = ("all", "department", "store", "country")
WINDOWS = ("7d", "30d", "90d", "365d", "month", "quarter", "custom")


def make_answers(total: int, now: datetime) -> list[SurveyResponse]:
    answers = []
    for i in range(total):
        tenant = f"drain-{i % 5}"
        rid = f"d-{i}"
        answers.append(
            SurveyResponse(
                event_id=response_event_id(tenant, GENERIC_API, rid),
                version=1,
                tenant=tenant,
                kind="nps",
                score=i % 11,
                comment="bench",
                answered_at=now - timedelta(days=i % 30, minutes=i % 997),
                received_at=now,
                source=Source(tool=GENERIC_API, response_id=rid),
                respondent=Respondent(key=f"c-{i % 5000}"),
                segments={"department": f"d{i % 8}", "country": ("DK", "SE", "NO")[i % 3]},
            )
        )
    return answers


async def produce(bootstrap: str, answers: list[SurveyResponse]) -> None:
    publisher = Publisher(bootstrap, timeout=60, client_id="bench-scoring")
    await publisher.start()
    await publisher.wait_ready(60)
    try:
        for start in range(0, len(answers), 5000):
            chunk = answers[start : start + 5000]
            await publisher.send_many(
                topics.RESPONSES, [(a.key, a.to_bytes(), None) for a in chunk]
            )
    finally:
        await publisher.stop()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drain(
    env: dict[str, str], url: str, total: int, log_dir: Path
) -> tuple[float, float, ServiceProcess]:
    """Start scoring on the filled topic; returns (events/s, CPU-s per 1k events, process)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    process = ServiceProcess("scoring", env, log_dir).start()
    assert process.process is not None
    group = f"{env['ANBEFAL_GROUP_PREFIX']}-scoring"
    sql = (
        "SELECT coalesce(sum(next_offset), 0) FROM scoring.consumer_offsets "
        "WHERE group_id = $1 AND topic = $2"
    )
    try:
        first: tuple[float, int, float] | None = None
        deadline = time.monotonic() + 1800
        while True:
            done = int(await conn.fetchval(sql, group, topics.RESPONSES))
            now = time.monotonic()
            if first is None and done > 0:
                first = (now, done, cpu_seconds(process.process.pid))
            if done >= total:
                break
            if now > deadline or process.process.poll() is not None:
                raise RuntimeError(f"drain stopped at {done}:\n{process.log_tail()}")
            await asyncio.sleep(0.05)
        assert first is not None
        cpu = cpu_seconds(process.process.pid) - first[2]
        events = total - first[1]
        return events / (now - first[0]), 1000 * cpu / events, process
    finally:
        await conn.close()


async def raw_baseline(url: str, answers: list[SurveyResponse]) -> float:
    """The same answers applied by a bare asyncpg loop; returns events/s."""
    rows = [
        (
            a.event_id,
            a.tenant,
            a.version,
            a.kind,
            a.score,
            a.answered_at.astimezone(ZONE).date(),
            a.answered_at,
            orjson.dumps(a.segments).decode(),
        )
        for a in answers
    ]
    by_id = {a.event_id: a for a in answers}
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "INSERT INTO scoring.consumer_offsets (group_id, topic, partition, next_offset) "
            "VALUES ('raw', 'raw', 0, 0)"
        )
        started = time.perf_counter()
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            async with conn.transaction():
                inserted = await conn.fetch(
                    "INSERT INTO scoring.answers "
                    "(event_id, tenant, version, kind, score, day, answered_at, segments) "
                    "SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], "
                    "$5::int2[], $6::date[], $7::timestamptz[], $8::text[]::jsonb[]) "
                    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                    *(list(column) for column in zip(*batch, strict=True)),
                )
                deltas: dict[tuple[str, str, str, str, date], list[int]] = defaultdict(
                    lambda: [0, 0, 0]
                )
                for record in inserted:
                    a = by_id[record["event_id"]]
                    day = a.answered_at.astimezone(ZONE).date()
                    slot = ("promoter", "passive", "detractor").index(category(a.score))
                    for dim, value in [("all", "all"), *a.segments.items()]:
                        deltas[(a.tenant, a.kind, dim, value, day)][slot] += 1
                keys = sorted(deltas)
                await conn.execute(
                    "INSERT INTO scoring.daily_buckets AS b SELECT * FROM unnest($1::text[], "
                    "$2::text[], $3::text[], $4::text[], $5::date[], $6::int[], $7::int[], "
                    "$8::int[]) ON CONFLICT (tenant, kind, dimension, value, day) DO UPDATE "
                    "SET promoters = b.promoters + excluded.promoters, "
                    "passives = b.passives + excluded.passives, "
                    "detractors = b.detractors + excluded.detractors",
                    *(list(column) for column in zip(*keys, strict=True)),
                    *(list(column) for column in zip(*(deltas[k] for k in keys), strict=True)),
                )
                await conn.execute(
                    "UPDATE scoring.consumer_offsets SET next_offset = $1 "
                    "WHERE group_id = 'raw' AND next_offset = $2",
                    start + len(batch),
                    start,
                )
        return len(rows) / (time.perf_counter() - started)
    finally:
        await conn.close()


def random_request(rng: random.Random, today: date) -> dict[str, str]:
    params = {
        "kind": "nps",
        "dimension": rng.choice(DIMENSIONS),
        "sort": rng.choice(("nps", "detractors")),
    }
    window = rng.choice(WINDOWS)
    if window == "custom":
        last = today - timedelta(days=rng.randrange(0, 200))
        params["from"] = (last - timedelta(days=rng.randrange(0, 160))).isoformat()
        params["to"] = last.isoformat()
    else:
        params["window"] = window
    return params


async def api_latency(
    process: ServiceProcess, url: str, requests: int, seed: int
) -> tuple[list[float], list[float], list[float], int]:
    """Seconds per API request, per bare SQL query for the same random requests, and per
    GET /healthz beside each (no database, no auth: what HTTP alone costs)."""
    from anbefal.scoring.windows import window_days

    rng = random.Random(seed)
    today = datetime.now(ZONE).date()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    seeded = int(
        await conn.fetchval(
            "SELECT sum(promoters + passives + detractors) FROM scoring.daily_buckets "
            "WHERE tenant LIKE 'bench-%' AND dimension = 'all'"
        )
    )
    now, before = "FILTER (WHERE day >= $3)", "FILTER (WHERE day < $3)"
    sql = (
        f"SELECT value, sum(promoters) {now}, sum(passives) {now}, sum(detractors) {now}, "
        f"sum(promoters) {before}, sum(passives) {before}, sum(detractors) {before} "
        "FROM scoring.daily_buckets WHERE tenant = $1 AND kind = 'nps' AND dimension = $2 "
        "AND day >= $4 AND day <= $5 GROUP BY value"
    )
    api: list[float] = []
    raw: list[float] = []
    http: list[float] = []  # GET /healthz on the same server: the HTTP floor
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        for i in range(requests + requests // 10):
            tenant = f"bench-{rng.randrange(50)}"
            params = random_request(rng, today)
            if tenant not in clients:
                token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="viewer", sub="bench")
                clients[tenant] = httpx.AsyncClient(
                    base_url=f"{process.url}/v1/tenants/{tenant}",
                    headers={"Authorization": f"Bearer {token}"},
                )
            started = time.perf_counter()
            r = await clients[tenant].get("/scores", params=params)
            elapsed = time.perf_counter() - started
            if r.status_code != 200:
                raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
            started = time.perf_counter()
            await clients[tenant].get(f"{process.url}/healthz")
            floor = time.perf_counter() - started
            if "from" in params:
                first, last = date.fromisoformat(params["from"]), date.fromisoformat(params["to"])
            else:
                first, last = window_days(params["window"], today)
            span = last - first + timedelta(days=1)
            started = time.perf_counter()
            await conn.fetch(sql, tenant, params["dimension"], first, first - span, last)
            bare = time.perf_counter() - started
            if i >= requests // 10:  # the first tenth warms caches and connections
                api.append(elapsed)
                raw.append(bare)
                http.append(floor)
    finally:
        for client in clients.values():
            await client.aclose()
        await conn.close()
    return api, raw, http, seeded


async def run(total: int, requests: int) -> int:
    root = state_dir() / "bench" / f"scoring-{uuid.uuid4().hex[:6]}"
    with scratch_servers(root) as (postgres, kafka):
        process: ServiceProcess | None = None
        try:
            await create_topics(kafka.bootstrap, topics.ALL_TOPICS)
            for name in ("scoring", "raw"):
                postgres.create_database(name)
                await asyncio.to_thread(upgrade_all, postgres.url(name))
            url = postgres.url("scoring")
            env = {
                "ANBEFAL_ENV_FILE": str(root / "no-env-file"),
                "ANBEFAL_KAFKA_BOOTSTRAP": kafka.bootstrap,
                "ANBEFAL_DATABASE_URL": url,
                "ANBEFAL_JWT_SECRET": TEST_JWT_SECRET,
                "ANBEFAL_DATA_KEYS": TEST_DATA_KEYS,
                "ANBEFAL_GROUP_PREFIX": "bench",
                "ANBEFAL_LOG_LEVEL": "WARNING",
                "PATH": os.environ["PATH"],
            }
            now = datetime.now(UTC)
            answers = make_answers(total, now)
            started = time.perf_counter()
            await produce(kafka.bootstrap, answers)
            produced_s = time.perf_counter() - started

            rate, cpu_per_k, process = await drain(env, url, total, root / "logs")
            raw = await raw_baseline(postgres.url("raw"), answers)
            print(f"answers drained      {total:,} (produced first, in {produced_s:.1f} s)")
            print(
                f"scoring drain        {rate:,.0f} events/s  ({cpu_per_k:.2f} CPU-s per 1k events)"
            )
            print(
                f"raw asyncpg loop     {raw:,.0f} events/s  (batch {BATCH}, same server, same data)"
            )
            print(f"ratio                {rate / raw:.2f}  (targets: >= 25,000 events/s, >= 0.40)")
            print(f"load average         {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")

            await process.wait_ready()
            conn = await asyncpg.connect(asyncpg_dsn(url))
            try:
                started = time.perf_counter()
                await conn.execute(SEED_10M, datetime.now(ZONE).date())
                # As autovacuum would after a load: the visibility map lets reads skip the heap.
                await conn.execute("VACUUM ANALYZE scoring.daily_buckets")
                seed_s = time.perf_counter() - started
            finally:
                await conn.close()
            api, bare, http, seeded = await api_latency(process, url, requests, seed=11)
            ms = 1000
            print(f"seeded               {seeded:,} answers as daily buckets in {seed_s:.0f} s")
            print(
                f"scores API           p50 {percentile(api, 0.5) * ms:.2f} ms  "
                f"p99 {percentile(api, 0.99) * ms:.2f} ms  over {len(api):,} requests "
                f"(target p99 <= 15 ms)"
            )
            print(
                f"same SQL, bare       p50 {percentile(bare, 0.5) * ms:.2f} ms  "
                f"p99 {percentile(bare, 0.99) * ms:.2f} ms  "
                f"(mean API {statistics.mean(api) * ms:.2f})"
            )
            print(
                f"GET /healthz         p50 {percentile(http, 0.5) * ms:.2f} ms  "
                f"p99 {percentile(http, 0.99) * ms:.2f} ms  (the HTTP floor on this machine now)"
            )
            print(f"load average         {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
            ok = rate >= 25_000 and rate / raw >= 0.4 and percentile(api, 0.99) <= 0.015
            return 0 if ok else 1
        finally:
            if process is not None:
                process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="answers to drain")
    parser.add_argument("--requests", type=int, default=3000, help="API requests to time")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.events, args.requests)))


if __name__ == "__main__":
    main()
