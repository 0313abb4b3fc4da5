"""The deadline-day burst for the benchmarks (`bench/burst.py`, `bench/scaleout.py`): answers
posted through ingest's batch endpoint as fast as the machine allows, with the whole system
running, then the drain measured and every checker of the fault harness run over the result
(nothing acknowledged lost, nothing counted twice, one task per decided action).

With `copies` above 1, each consumer service (scoring, closed_loop, notify) runs that many
processes in its one consumer group, sharing the topics' partitions and the outboxes; ingest
stays one process (the drain is timed from the last 202)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from anbefal.common import services, topics
from anbefal.common.auth import issue_token
from anbefal.common.kafka import Publisher
from anbefal.devstack.benchsystem import bench_system
from anbefal.devstack.chaos import ChaosSystem, Generator, Outcome, Verdict, judge
from anbefal.devstack.cpu import CpuMeter, Profile, per_request_us, record_each
from anbefal.devstack.testing import TEST_JWT_SECRET

TENANT = "burst"
# The services whose work drains after the last 202, each a consumer group.
DRAINING = (services.SCORING, services.CLOSED_LOOP, services.NOTIFY)


# Each respondent answers this many times in a burst, whatever its size: a deadline day's
# answers come from about as many people as there are answers, and a respondent's earlier actions
# are read with each new answer (the cool-down), so a fixed number of respondents would make each
# answer of a larger burst cost more (5,000 respondents answering 40 times each in --full).
ANSWERS_PER_RESPONDENT = 4


def respondents_for(total: int) -> int:
    return max(1, -(-total // ANSWERS_PER_RESPONDENT))


def answer(i: int, now: datetime, respondents: int) -> dict[str, Any]:
    return {
        "response_id": f"b-{i}",
        "score": i % 11,
        "comment": "deadline day",
        "answered_at": (now - timedelta(minutes=i % 1440)).isoformat(),
        "respondent": {"id": f"c-{i % respondents}"},
        "segments": {"department": f"d{i % 8}", "country": ("DK", "SE", "NO")[i % 3]},
        "owners": {"director": "director@burst.example"},
    }


@dataclass
class BurstResult:
    copies: int
    total: int
    respondents: int
    batch: int
    concurrency: int
    acknowledged: int
    burst_s: float  # first post to last 202
    drain_s: float  # last 202 to every consumer at the end of its topics, nothing pending
    peak_lag: int
    verdict: Verdict
    raw_per_s: float | None  # the raw produce baseline, when measured
    # (seconds after the last 202, what the drain then still waited for), at each change
    stages: list[tuple[float, str]]
    # µs of CPU per acknowledged answer, first post to drained: each service, Kafka, PostgreSQL
    cpu_us: dict[str, float]
    # py-spy's samples of each service's process over the burst and drain, when recorded
    profiles: dict[str, Profile] = field(default_factory=dict)

    @property
    def accepted_per_s(self) -> float:
        return self.acknowledged / self.burst_s

    @property
    def end_to_end_per_s(self) -> float:
        """Answers per second from the first post until everything is stored."""
        return self.acknowledged / (self.burst_s + self.drain_s)

    def lines(self) -> list[str]:
        lines = [
            f"answers            {self.total:,} in batches of {self.batch}, "
            f"{self.concurrency} senders; {self.copies} of each consumer service",
            f"respondents        {self.respondents:,} "
            f"({self.total / self.respondents:.0f} answers each, answered within a day)",
            f"accepted           {self.acknowledged:,} in {self.burst_s:.1f} s "
            f"= {self.accepted_per_s:,.0f}/s",
        ]
        if (raw := self.raw_per_s) is not None:
            lines += [
                f"raw Kafka produce  {raw:,.0f} records/s (same count and size, no HTTP)",
                f"ratio              {self.accepted_per_s / raw:.2f} of the raw baseline",
            ]
        v = self.verdict
        return lines + [
            f"peak lag           {self.peak_lag:,} records (scoring + closed-loop + notify)",
            f"drain time         {self.drain_s:.1f} s after the last 202",
            *(f"  from {at:5.1f} s     {stage}" for at, stage in self.stages),
            f"end to end         {self.end_to_end_per_s:,.0f} answers/s (first post to drained)",
            f"CPU µs per answer  {sum(self.cpu_us.values()):,.0f} in all (first post to drained)",
            *(f"  {name:<17}{us:>6,.0f}" for name, us in self.cpu_us.items()),
            f"stored             {v.stored:,}",
            f"lost               {v.lost}",
            f"counted twice      {v.duplicates}",
            *(f"PROBLEM            {p}" for p in v.problems),
            *(
                line
                for name, profile in self.profiles.items()
                for line in [f"== {name}", *profile.lines(self.cpu_us.get(name, 0.0))]
            ),
        ]


async def post_burst(
    url: str, token: str, total: int, batch: int, concurrency: int, respondents: int
) -> tuple[set[int], float]:
    """Returns the indices acknowledged and the wall time of the burst."""
    now = datetime.now(UTC)
    queue: asyncio.Queue[tuple[range, bytes]] = asyncio.Queue()
    for start in range(0, total, batch):
        indices = range(start, min(start + batch, total))
        body = orjson.dumps({"responses": [answer(i, now, respondents) for i in indices]})
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
    value = orjson.dumps(answer(0, now, 1)) * 2  # about the size of an event on the topic
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


async def drain(system: ChaosSystem, timeout: float) -> list[tuple[float, str]]:
    """Waits until the system is quiescent; returns when each stage became what it waited for
    (the pipeline is walked in order, so a stage left behind is done, with all before it)."""
    started = time.perf_counter()
    stages: list[tuple[float, str]] = []
    while (reason := await system.behind()) is not None:
        at = time.perf_counter() - started
        stage = re.sub(r"\b\d+\b", "N", reason.split(": ")[0])
        if not stages or stages[-1][1] != stage:
            stages.append((at, stage))
        if at > timeout:
            raise TimeoutError(f"not drained after {timeout:.0f} s: {reason}")
        await asyncio.sleep(0.5)
    return stages


def cpu_roots(system: ChaosSystem) -> dict[str, int]:
    """The process of every service (each copy), the broker's and PostgreSQL's."""
    roots = {name: p.process.pid for name, p in system.processes.items() if p.process}
    if system.broker is not None and system.broker.process is not None:
        roots["kafka"] = system.broker.process.pid
    if system.postgres is not None:
        pid_file = system.postgres.data_dir / "postmaster.pid"
        roots["postgres"] = int(pid_file.read_text().split()[0])
    return roots


async def run_burst(
    total: int,
    batch: int = 500,
    concurrency: int = 4,
    *,
    copies: int = 1,
    raw: bool = True,
    py_spy: Path | None = None,
    respondents: int | None = None,
) -> BurstResult:
    """One burst against a system of its own (its own broker and database). `py_spy`: record
    each service's process with py-spy (`<py_spy>.<service>.txt`) from the first post to drained.
    `respondents`: how many people the answers come from (default: one per
    `ANSWERS_PER_RESPONDENT` answers)."""
    respondents = respondents or respondents_for(total)
    async with bench_system(f"burst{copies}") as system:
        for service in DRAINING:
            for n in range(2, copies + 1):
                system.start_extra(service.name, f"{service.name}-{n}")
        await system.wait_ready(180)
        token = issue_token(TEST_JWT_SECRET, tenant=TENANT, role="ingest", sub="burst")
        ingest_url = system.url("ingest")

        peak = 0
        sampling = True

        async def sample() -> None:
            nonlocal peak
            while sampling:
                peak = max(peak, await system.lag())
                await asyncio.sleep(0.5)

        roots = cpu_roots(system)
        meter = CpuMeter(roots)
        with contextlib.ExitStack() as spies:
            spied = record_each(spies, roots, system.processes, py_spy)
            cpu_before = meter.snapshot()
            sampler = asyncio.create_task(sample())
            url = f"{ingest_url}/v1/tenants/{TENANT}/responses"
            acked, burst_s = await post_burst(url, token, total, batch, concurrency, respondents)
            drain_started = time.perf_counter()
            stages = await drain(system, timeout=1800)
            drain_s = time.perf_counter() - drain_started
            cpu_us = per_request_us(cpu_before, meter.snapshot(), len(acked))
        cpu_us.pop("wrk", None)  # the meter's load generator: this bench posts itself
        sampling = False
        await sampler

        history = [Outcome(f"b-{i}", 202, 1) for i in sorted(acked)]
        generator = Generator(ingest_url, TENANT, history=history)
        verdict, _ = await judge(system, generator, f"burst, {copies} copies")
        baseline = await raw_baseline(system.bootstrap, total, batch) if raw else None
        return BurstResult(
            copies=copies,
            total=total,
            respondents=respondents,
            batch=batch,
            concurrency=concurrency,
            acknowledged=len(acked),
            burst_s=burst_s,
            drain_s=drain_s,
            peak_lag=peak,
            verdict=verdict,
            raw_per_s=baseline,
            stages=stages,
            cpu_us=cpu_us,
            profiles={name: spy.profile() for name, spy in spied.items()},
        )
