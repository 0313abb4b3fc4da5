"""Whole-system CPU per signed webhook: what one survey answer costs every process of the
system, from the tool's POST to its score, its task and its mail.

With every service running (ingest, scoring, closed-loop, notify, the broker, PostgreSQL), it
posts `--count` signed Typeform deliveries at a steady `--rate` (each a new answer, answered a
moment ago, with a comment, a respondent with an email address, a department and the owners, so
it is scored, routed, becomes a task or a thank-you mail), waits until the pipeline has
drained (every consumer at the end of its topics, nothing held, no mail pending), and divides
the CPU time (user + system, from /proc) each process tree spent between before the first
post and the drain by the number of webhooks. The client is this script (not counted); the
mail sink runs in it too.

Beside it, the same processes' CPU while idle, per second: their background work (pollers,
heartbeats) over the run's length is part of the figure, and is shown so it can be told apart.

    uv run python bench/webhook_cpu.py                       # 3,000 webhooks at 100/s
    uv run python bench/webhook_cpu.py --rate 200 --count 6000
    uv run python bench/webhook_cpu.py --py-spy /tmp/cpu   # and each service's costliest code
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.migrations import upgrade_all
from anbefal.devstack.benchsystem import service_env
from anbefal.devstack.burst import drain
from anbefal.devstack.chaos import ChaosSystem
from anbefal.devstack.cpu import CpuMeter, per_request_us, record_each
from anbefal.devstack.kafka import create_topics
from anbefal.devstack.loadgen import HttpLoad, at_rate
from anbefal.devstack.paths import state_dir
from anbefal.devstack.scratch import scratch_servers
from anbefal.devstack.surveytools import typeform
from anbefal.devstack.testing import TEST_JWT_SECRET

SECRET = "bench-typeform-secret-of-32-chars-or-more"
TENANT = "cpu"
FIELDS = {
    "score": "nps",
    "comment": "why",
    "respondent": {"id": "customer_id", "email": "email"},
    "segments": {"department": "department"},
    "owners": {"director": "director", "salesperson": "salesperson"},
}


def deliveries(count: int, run: str) -> list[tuple[bytes, dict[str, str]]]:
    """`count` signed deliveries, each a new answer of a new respondent, scores 0-10 in turn."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = []
    for i in range(count):
        signed = typeform(
            SECRET,
            token=f"{run}-{i}",
            score=i % 11,
            comment=f"Svar nummer {i}",
            hidden={
                "customer_id": f"c-{run}-{i}",
                "email": f"r{i}-{run}@bench.example",
                "department": f"d{i % 8}",
                "director": "director@bench.example",
                "salesperson": "sp@bench.example",
            },
            submitted_at=now,
        )
        out.append((signed.body, {**signed.headers, "content-type": "application/json"}))
    return out


def table(spent: dict[str, float], idle: dict[str, float], seconds: float, count: int) -> str:
    """µs of CPU per webhook per process tree: all of it, and of that the idle background."""
    lines = [f"{'process':<14} {'µs/webhook':>11} {'of it idle':>11}"]
    for name in spent:
        background = idle[name] * seconds / count * 1e6
        lines.append(f"{name:<14} {spent[name]:>11,.0f} {background:>11,.0f}")
    total, background = sum(spent.values()), sum(idle.values()) * seconds / count * 1e6
    lines.append(f"{'all':<14} {total:>11,.0f} {background:>11,.0f}")
    return "\n".join(lines)


async def run(rate: float, count: int, idle_s: float, py_spy: Path | None) -> int:
    root = state_dir() / "bench" / f"webhook-cpu-{uuid.uuid4().hex[:6]}"
    with scratch_servers(root) as (postgres, kafka):
        await create_topics(kafka.bootstrap, topics.ALL_TOPICS)
        postgres.create_database("webhookcpu")
        url = postgres.url("webhookcpu")
        await asyncio.to_thread(upgrade_all, url)
        system = ChaosSystem(root, service_env(root, kafka.bootstrap, url, "webhookcpu"))
        try:
            await system.start()
            admin = issue_token(TEST_JWT_SECRET, tenant=TENANT, role="admin", sub="bench")
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {admin}"}) as client:
                r = await client.put(
                    f"{system.url('ingest')}/v1/tenants/{TENANT}/sources/typeform",
                    json={"tool": "typeform", "secret": SECRET, "fields": FIELDS},
                )
                r.raise_for_status()
            # Warm every path up (first statements prepared, first records routed), then settle.
            await post_all(system, deliveries(50, f"warm-{uuid.uuid4().hex[:6]}"), 25)
            await drain(system, timeout=300)

            roots = {name: p.process.pid for name, p in system.processes.items() if p.process}
            assert kafka.process is not None
            roots["kafka"] = kafka.process.pid
            roots["postgres"] = int((postgres.data_dir / "postmaster.pid").read_text().split()[0])
            meter = CpuMeter(roots)

            before = meter.snapshot()
            await asyncio.sleep(idle_s)
            idle = {k: (v - before[k]) / idle_s for k, v in meter.snapshot().items()}

            prepared = deliveries(count, uuid.uuid4().hex[:8])
            print(f"== {count:,} signed Typeform webhooks at {rate:g}/s, the whole system running")
            with contextlib.ExitStack() as spies:
                profiles = record_each(spies, roots, system.processes, py_spy)
                before = meter.snapshot()
                started = time.perf_counter()
                statuses = await post_all(system, prepared, rate)
                posted_s = time.perf_counter() - started
                stages = await drain(system, timeout=600)
                seconds = time.perf_counter() - started
                spent = per_request_us(before, meter.snapshot(), count)
            spent.pop("wrk")
            idle.pop("wrk")
            print(
                f"posted in {posted_s:.1f} s, statuses {statuses}; drained "
                f"{seconds - posted_s:.1f} s after the last post"
                + (f" (last stage: {stages[-1][1]})" if stages else "")
            )
            print(table(spent, idle, seconds, count))
            for name, spy in profiles.items():
                print(f"== {name}")
                print("\n".join(spy.profile().lines(spent[name], top=15)))
            return 0 if statuses == {202: count} else 1
        finally:
            system.stop()


async def post_all(
    system: ChaosSystem, prepared: list[tuple[bytes, dict[str, str]]], rate: float
) -> dict[int, int]:
    url = f"{system.url('ingest')}/v1/webhooks/{TENANT}/typeform"
    statuses: dict[int, int] = {}

    async def post(i: int) -> None:
        body, headers = prepared[i]
        r = await client.post(url, content=body, headers=headers)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    async with HttpLoad(connections=64) as client:
        await at_rate(rate, len(prepared) / rate, post)
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100, help="webhooks per second")
    parser.add_argument("--count", type=int, default=3000, help="webhooks in all")
    parser.add_argument("--idle", type=float, default=10, help="seconds of idle measured first")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="FILE",
        help="record each service with py-spy (FILE.<service>.txt) and print its costliest "
        "functions in µs per webhook",
    )
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.rate, args.count, args.idle, args.py_spy)))


if __name__ == "__main__":
    main()
