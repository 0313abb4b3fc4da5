"""Faults that leave the broker and the database alone: consumers SIGKILLed mid-batch, poison
records on every topic, abuse of the webhook API. One system of four processes serves all three;
each test uses its own tenant, so the checkers see only its answers."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.kafka import Publisher
from anbefal.devstack.chaos import FULL, ChaosSystem, Generator, Outcome, check, record_row, scale
from anbefal.devstack.testing import TEST_JWT_SECRET, wait_until

pytestmark = [pytest.mark.fault, pytest.mark.integration]

CONSUMERS = ("scoring", "closed-loop", "notify")


async def anbefal(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The `anbefal` command as an operator runs it, in its own process."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "anbefal.cli.main", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


async def test_consumers_sigkilled_mid_batch_again_and_again(shared_system: ChaosSystem) -> None:
    system = shared_system
    rng = random.Random(11)
    answers = scale(600, 20_000)
    kills = scale(6, 30)
    generator = Generator(system.url("ingest"), f"kill-{uuid.uuid4().hex[:8]}")
    load = asyncio.create_task(generator.send(generator.ids(0, answers)))
    killed = 0
    while killed < kills:
        # Kill while records flow, at a random instant, rotating through the consumers.
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        service = CONSUMERS[killed % len(CONSUMERS)]
        system.processes[service].kill()
        killed += 1
        system.restart_service(service)
        if load.done() and killed >= len(CONSUMERS):
            break
    await load
    for process in system.processes.values():
        await process.wait_ready()
    verdict = await check(system, generator, "consumer SIGKILL mid-batch")
    assert verdict.problems == []
    assert verdict.lost == 0
    assert verdict.stored == verdict.acknowledged == answers


async def test_poison_records_on_every_topic_are_dead_lettered_and_replayable(
    shared_system: ChaosSystem,
) -> None:
    system = shared_system
    poison = [b"not json", b"{}", b'{"score": 11}', b"\xff" * 200_000]
    main_topics = [t.name for t in topics.ALL_TOPICS if not t.name.endswith(topics.DLQ_SUFFIX)]
    publisher = Publisher(system.bootstrap, timeout=10, client_id="poisoner")
    await publisher.start()
    await publisher.wait_ready(30)
    try:
        for topic in main_topics:
            # Keys are required on the compacted tenants topic; harmless elsewhere.
            await publisher.send_many(
                topic, [(f"poison-{n}".encode(), value, None) for n, value in enumerate(poison)]
            )
    finally:
        await publisher.stop()
    # ingest consumes too: erasure requests and tenant settings.
    consumed = {
        "ingest": "ingest",
        "scoring": "scoring",
        "closed-loop": "closed_loop",
        "notify": "notify",
    }

    async def dead_lettered() -> bool:
        for service, schema in consumed.items():
            rows = await system.fetch(
                f"SELECT count(*) AS n FROM {schema}.dead_letters "
                "WHERE group_id = $1 AND key LIKE 'poison-%' AND replayed_at IS NULL",
                system.group(service),
            )
            # At least two topics per consumer, four poison records per topic.
            if rows[0]["n"] < 2 * len(poison):
                return False
        return True

    await wait_until(dead_lettered, 120, "every poison record in its service's dead_letters")
    await system.wait_quiescent()  # lag -> 0: the consumers went past the poison
    produced = len(poison) * len(main_topics)
    record_row(
        {
            "fault": "poison records on every topic",
            "scale": "full" if FULL else "small",
            "sent": produced,
            "acknowledged": produced,
            "stored": f"{2 * len(poison) * len(consumed)} dead letters",
            "duplicates": 0,
            "lost": 0,
            "ok": True,
        }
    )

    env = {
        "ANBEFAL_DATABASE_URL": system.database_url,
        "ANBEFAL_KAFKA_BOOTSTRAP": system.bootstrap,
        "ANBEFAL_ENV_FILE": str(system.root / "no-env-file"),
        # status reads the tasks through notify's ops API with a token it signs itself.
        "ANBEFAL_JWT_SECRET": system.env["ANBEFAL_JWT_SECRET"],
    }
    urls = [f"--url={name}={process.url}" for name, process in system.processes.items()]
    # Counters are served on each process's internal metrics port, not its API port.
    urls += [
        f"--metrics-url={name}={process.metrics_url}" for name, process in system.processes.items()
    ]
    status = await anbefal("status", *urls, env=env)
    # Dead letters need attention: status says so in the PROBLEM column and exits 1.
    assert status.returncode == 1, status.stdout
    services_table = status.stdout.split("\n\n")[0].splitlines()[1:]
    lines = {line.split()[0]: line.split() for line in services_table}
    assert set(lines) == {"ingest", "scoring", "closed-loop", "notify"}
    for service in consumed:
        name, health, ready, lag, dlq = lines[service][:5]
        assert (health, ready, lag) == ("ok", "ready", "0"), status.stdout
        assert int(dlq) >= 2 * len(poison), status.stdout
        assert "dead letters" in " ".join(lines[service][6:]), status.stdout

    listing = await anbefal("dlq", "list", "--service", "scoring", env=env)
    assert listing.returncode == 0, listing.stdout
    first_id = int(listing.stdout.split()[0])
    shown = await anbefal("dlq", "show", "--service", "scoring", str(first_id), env=env)
    assert shown.returncode == 0, shown.stdout
    record = json.loads(shown.stdout)
    assert record["topic"] in (topics.RESPONSES, topics.TENANTS)
    assert record["error"]

    replay = await anbefal("dlq", "replay", "--service", "scoring", str(first_id), env=env)
    assert replay.returncode == 0, replay.stdout
    assert f"replayed 1: [{first_id}]" in replay.stdout
    again = await anbefal("dlq", "replay", "--service", "scoring", str(first_id), env=env)
    assert "replayed 0" in again.stdout
    marked = await system.fetch(
        "SELECT replayed_at FROM scoring.dead_letters WHERE id = $1", first_id
    )
    assert marked[0]["replayed_at"] is not None

    # Still poison: the replayed copy is dead-lettered again at a later offset, not lost.
    async def dead_again() -> bool:
        rows = await system.fetch(
            "SELECT count(*) AS n FROM scoring.dead_letters WHERE key = $1 AND topic = $2 "
            'AND "offset" > $3',
            record["key"].encode(),
            record["topic"],
            record["offset"],
        )
        return bool(rows[0]["n"] >= 1)

    await wait_until(dead_again, 60, "the replayed record reached scoring again")


async def test_webhook_abuse_is_refused_and_counts_nothing_twice(
    shared_system: ChaosSystem,
) -> None:
    system = shared_system
    tenant = f"abuse-{uuid.uuid4().hex[:8]}"
    generator = Generator(system.url("ingest"), tenant, concurrency=scale(16, 64))
    url = generator.url
    good = generator.headers()
    async with httpx.AsyncClient(timeout=10) as client:
        body = generator.body("r-dup", 3)
        # The same answer 20 times at once: all accepted, stored once.
        dups = await asyncio.gather(*(client.post(url, json=body, headers=good) for _ in range(20)))
        assert {r.status_code for r in dups} == {202}
        generator.history.append(Outcome("r-dup", 202, len(dups)))

        bad_token = await client.post(url, json=body, headers={"Authorization": "Bearer nope"})
        assert bad_token.status_code == 401
        expired = issue_token(TEST_JWT_SECRET, tenant=tenant, role="ingest", sub="x", ttl_s=-60)
        stale = await client.post(url, json=body, headers={"Authorization": f"Bearer {expired}"})
        assert stale.status_code == 401
        other = issue_token(TEST_JWT_SECRET, tenant="someone-else", role="ingest", sub="x")
        wrong_tenant = await client.post(
            url, json=generator.body("r-wrong", 1), headers={"Authorization": f"Bearer {other}"}
        )
        assert wrong_tenant.status_code == 403
        huge = {**generator.body("r-huge", 1), "comment": "x" * 2_000_000}
        too_big = await client.post(url, json=huge, headers=good)
        assert too_big.status_code == 413
        malformed = await client.post(
            url, content=b'{"response_id": ', headers={**good, "Content-Type": "application/json"}
        )
        assert malformed.status_code == 400
        invalid = await client.post(url, json={**body, "score": 11}, headers=good)
        assert invalid.status_code == 422
        assert invalid.json()["error"]["details"][0]["field"] == "score"

    # A flood: many concurrent senders, with re-posts.
    await generator.send(generator.ids(0, scale(800, 20_000)), duplicate_share=0.2)
    verdict = await check(system, generator, "webhook abuse + flood")
    assert verdict.problems == []
    assert verdict.lost == 0
    assert verdict.stored == len(generator.acknowledged)


async def test_trace_id_travels_from_the_webhook_to_every_consumer_log(
    shared_system: ChaosSystem,
) -> None:
    system = shared_system
    tenant = f"trace-{uuid.uuid4().hex[:8]}"
    generator = Generator(system.url("ingest"), tenant)
    trace = f"trace-{uuid.uuid4().hex}"
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.post(
            generator.url,
            json=generator.body("r-traced", 2),  # a detractor: scored, routed, tasked
            headers={**generator.headers(), "X-Request-Id": trace},
        )
    assert r.status_code == 202, r.text
    assert r.json()["trace_id"] == trace

    def lines_with_trace(service: str) -> list[dict[str, Any]]:
        found = []
        for path in (system.root / "logs").glob(f"{service}-*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if trace in line and line.startswith("{"):
                    found.append(json.loads(line))
        return found

    async def everywhere() -> bool:
        return all(lines_with_trace(s) for s in ("ingest", "scoring", "closed-loop", "notify"))

    await wait_until(everywhere, 60, f"{trace} in the logs of all four services")
    for service in ("scoring", "closed-loop", "notify"):
        line = lines_with_trace(service)[0]
        assert line.get("trace_id") == trace or trace in line.get("trace_ids", []), line
