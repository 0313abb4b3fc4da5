"""F12, disk full: the data folder of PostgreSQL, then the log
dir of the Kafka broker, on a small tmpfs of its own (`anbefal.devstack.diskfault`) that is
filled to the last page under load, held full for a few seconds, and freed.

The promise is "clean 503s, no corruption after space is freed":

- PostgreSQL full: ingest does not need the database for a valid answer without contact data,
  so it keeps answering 202 for those (an answer with a respondent's name, email or phone needs
  their data key from the database to seal them: a 503 with Retry-After when a new key cannot be
  written; a 500 would never be allowed); the consumers' writes fail
  with SQLSTATE 53100 (disk full) or, if the server PANICs on a WAL write, with a lost
  connection, and both are the infrastructure's fault: retried, never dead-lettered. Halfway
  through, a CHECKPOINT (as checkpoint_timeout would sooner or later) PANICs the server, which
  then cannot recover until there is space, so the worst case is part of every run. After the
  space is freed (and the server started again) the checkers pass and pg_amcheck finds every
  table and index sound.
- Kafka full: the broker cannot append, takes its only log dir offline and halts (measured:
  0.2-1 s after the disk fills, exit code 1; it never recovers by itself), so ingest answers
  503 with Retry-After (never a 202 for an answer the broker did not take); after the space is
  freed and the broker restarted, every acknowledged answer is stored exactly once.

Each runs against a server of its own, so no other test is disturbed. Mounting needs root with
CAP_SYS_ADMIN (as in CI); without it the tests fail and say so, they do not skip.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from anbefal.common import topics
from anbefal.devstack.chaos import (
    Attempt,
    ChaosSystem,
    Generator,
    TimedGenerator,
    check,
    own_broker,
    own_postgres,
    scale,
)
from anbefal.devstack.diskfault import SmallDisk, small_disk
from anbefal.devstack.system import is_root
from anbefal.devstack.testing import asyncpg_dsn, end_offsets, wait_until

pytestmark = [pytest.mark.fault, pytest.mark.integration]

# How long the disk stays full: long enough for every consumer to hit it several times (their
# batches come every few hundred ms under load) and for a broker to notice and act on it.
FULL_FOR_S = float(scale(5, 20))
# initdb (~40 MiB with its first WAL segment) + the migrated database + the WAL the load writes
# between checkpoints (bounded by WAL_SETTINGS) + the load's own rows, with room to spare: the
# disk must be filled by the fault, never by the load.
PG_DISK_MB = scale(256, 1024)
# Kafka's index files are sparse (they take pages only as entries are written), so the log dir
# holds little more than the records: ~1 KiB per answer on two or three topics.
KAFKA_DISK_MB = scale(96, 512)
# Checkpoints by size well before the WAL could fill the small disk by itself; min_wal_size
# keeps old segments for recycling, so the server needs no new space just to switch segments.
WAL_SETTINGS = {"max_wal_size": "64MB", "min_wal_size": "32MB"}
# Ingest's produce timeout is 1.5 s (anbefal.common.settings); a refused answer must come well
# inside the client's 10 s, with a margin for a loaded 2-core machine.
PROMPT_503_S = 5.0
MIN_ANSWERS = scale(1500, 30_000)
DEAD_LETTER_SCHEMAS = ("scoring", "closed_loop", "notify")


# --------------------------------------------------------------------------------- the load


async def send_until(generator: Generator, stop: asyncio.Event, minimum: int) -> None:
    """Answers in batches until `stop` is set and at least `minimum` were sent; the batch under
    way when it is set finishes, so every request has an outcome."""
    batch, k = 100, 0
    while not stop.is_set() or k * batch < minimum:
        await generator.send(generator.ids(k * batch, batch), seed=k)
        k += 1


async def acknowledged_at_least(generator: Generator, count: int, timeout: float = 60) -> None:
    async def enough() -> bool:
        return len(generator.acknowledged) >= count

    await wait_until(enough, timeout, f"{count} answers acknowledged")


@dataclass
class FullSpell:
    filled: float  # time.monotonic() when the disk was first full
    freed: float
    bytes_filled: int
    free_while_full: int  # the most bytes seen free between top-ups (should stay ~0)


async def hold_full(
    disk: SmallDisk,
    seconds: float,
    watch: Callable[[], None] | None = None,
    midway: Callable[[], Awaitable[None]] | None = None,
) -> FullSpell:
    """Fill the disk, keep it full for `seconds` (topping up whatever a server frees, e.g. a
    removed WAL segment), then free it. `watch()`, if given, is called at each top-up, so the
    caller can note when a server gives up; `midway()` is awaited once, halfway through."""
    added = await asyncio.to_thread(disk.fill)
    filled = time.monotonic()
    most_free = 0
    while time.monotonic() < filled + seconds:
        await asyncio.sleep(0.2)  # the fault's duration, in steps; not a wait for a state
        if midway is not None and time.monotonic() >= filled + seconds / 2:
            await midway()
            midway = None
        most_free = max(most_free, disk.free_bytes())
        added += await asyncio.to_thread(disk.fill)
        if watch is not None:
            watch()
    disk.free()
    return FullSpell(filled, time.monotonic(), added, most_free)


def statuses(attempts: list[Attempt]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for a in attempts:
        counts[str(a.status)] = counts.get(str(a.status), 0) + 1
    return dict(sorted(counts.items()))


def assert_clean_answers(generator: TimedGenerator) -> list[Attempt]:
    """Every request got an answer, and every failure was a prompt 503 with Retry-After;
    returns the 503s."""
    unanswered = [a for a in generator.attempts if a.status is None]
    assert unanswered == [], f"{len(unanswered)} requests got no answer within the client's 10 s"
    unclean = [a for a in generator.attempts if a.status not in (202, 503)]
    assert unclean == [], f"answers that were neither 202 nor a clean 503: {statuses(unclean)}"
    refused = [a for a in generator.attempts if a.status == 503]
    bare = [a for a in refused if a.retry_after is None]
    assert bare == [], f"{len(bare)} 503s without Retry-After"
    slowest = max((a.answered - a.started for a in refused), default=0.0)
    assert slowest <= PROMPT_503_S, f"a 503 took {slowest:.2f}s"
    return refused


async def stream_ends(system: ChaosSystem) -> dict[tuple[str, int], int]:
    """Every topic's end offsets now: where this run's records begin."""
    return await end_offsets(system.bootstrap, [t.name for t in topics.ALL_TOPICS])


async def no_dead_letters(system: ChaosSystem, since: dict[tuple[str, int], int]) -> None:
    """A full disk is the infrastructure's fault: no record of this run (at or past `since`)
    may be parked for it. Older records are not this fault's business: on the suite's broker
    the compacted tenants topic, read from its start, holds the poison fault's records."""
    for schema in DEAD_LETTER_SCHEMAS:
        rows = await system.fetch(
            f'SELECT topic, "partition", "offset", error FROM {schema}.dead_letters'
        )
        ours = [r for r in rows if r["offset"] >= since.get((r["topic"], r["partition"]), 0)]
        assert ours == [], f"{schema} dead-lettered records: {[dict(r) for r in ours][:5]}"


# ------------------------------------------------------------------------- PostgreSQL full


class HalfAnonymous(TimedGenerator):
    """Every other answer without the respondent's contact data (ingest seals contact data
    with a key it keeps in PostgreSQL; an answer without any needs no key)."""

    @staticmethod
    def anonymous(response_id: str) -> bool:
        return int(response_id.rsplit("-", 1)[1]) % 2 == 1

    @staticmethod
    def body(response_id: str, i: int) -> dict[str, Any]:
        body = TimedGenerator.body(response_id, i)
        if HalfAnonymous.anonymous(response_id):
            body["respondent"] = {"id": body["respondent"]["id"]}
        return body


async def writable(system: ChaosSystem) -> bool:
    """A write that needs new space in a table and the WAL commits."""
    try:
        conn = await asyncpg.connect(asyncpg_dsn(system.database_url), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS public.disk_probe (at timestamptz NOT NULL);"
            "INSERT INTO public.disk_probe SELECT now() FROM generate_series(1, 100)",
            timeout=5,
        )
        return True
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    finally:
        conn.terminate()


def amcheck(system: ChaosSystem) -> subprocess.CompletedProcess[str]:
    """pg_amcheck over every table and index of the system's database: heap pages and tuples,
    and each B-tree against its heap (--heapallindexed)."""
    postgres = system.postgres
    assert postgres is not None
    database = system.database_url.rsplit("/", 1)[1]
    return subprocess.run(
        [
            str(postgres.bin_dir / "pg_amcheck"), "-h", "127.0.0.1", "-p", str(postgres.port),
            "-U", "postgres", "-d", database, "--install-missing", "--heapallindexed",
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip


def log_lines(path: Path, since: int, *needles: str) -> list[str]:
    """Lines of the server log written after byte `since` that contain one of `needles`."""
    with path.open("rb") as log:
        log.seek(since)
        text = log.read().decode(errors="replace")
    return [line for line in text.splitlines() if any(n in line for n in needles)]


async def test_postgres_data_dir_full_under_load(stack: Any) -> None:
    data_dir = stack.root / f"pg-disk-{uuid.uuid4().hex[:6]}" / "data"
    # The mount is the data directory itself, so the server's log and socket (next to it)
    # stay on the real disk: the log must tell what the server did while it was full.
    with small_disk(data_dir, PG_DISK_MB, owner="postgres" if is_root() else None) as disk:
        async with own_postgres(stack, data_dir=data_dir) as system:
            await postgres_full_under_load(system, disk)


async def postgres_full_under_load(system: ChaosSystem, disk: SmallDisk) -> None:
    postgres = system.postgres
    assert postgres is not None
    for name, value in WAL_SETTINGS.items():
        await system.fetch(f"ALTER SYSTEM SET {name} = '{value}'")
    await system.fetch("SELECT pg_reload_conf()")
    used_before = disk.used_bytes()
    log_from = postgres.log_path.stat().st_size
    since = await stream_ends(system)

    generator = HalfAnonymous(system.url("ingest"), f"pgfull-{uuid.uuid4().hex[:8]}")
    stop = asyncio.Event()
    load = asyncio.create_task(send_until(generator, stop, MIN_ANSWERS))
    try:
        await acknowledged_at_least(generator, 200)
        down_at: list[float] = []

        def watch() -> None:
            if not down_at and not postgres.running():
                down_at.append(time.monotonic())

        checkpoint: list[str] = []

        async def force_checkpoint() -> None:
            # What checkpoint_timeout or max_wal_size does sooner or later, now, while the disk
            # is full: a checkpoint must write a new file (pg_logical's replorigin_checkpoint),
            # cannot, and PANICs; crash recovery then cannot make its WAL segment either, and
            # the postmaster exits. The worst case of the fault, every run, rather than only
            # when a checkpoint happens to fall into the spell.
            try:
                await system.fetch("CHECKPOINT")
                checkpoint.append("completed")
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                checkpoint.append(type(exc).__name__)

        spell = await hold_full(disk, FULL_FOR_S, watch, force_checkpoint)
        stopped = not await asyncio.to_thread(postgres.running)
        starts = 0

        async def healed() -> bool:
            # A PANIC on a WAL write takes the server down; it restarts itself unless its
            # recovery fails too (still no space), and then the postmaster exits: start it,
            # as an operator would, once the space is back.
            nonlocal starts
            if not await asyncio.to_thread(postgres.running):
                starts += 1
                await asyncio.to_thread(postgres.start)
            return await writable(system)

        await wait_until(healed, 120, "PostgreSQL writable after the disk was freed", 0.5)
        writable_after = time.monotonic() - spell.freed
    finally:
        stop.set()
        await load
    await system.wait_ready()
    drain_from = time.monotonic()
    await system.wait_quiescent(scale(180, 600))
    drained_in = time.monotonic() - drain_from

    refused = assert_clean_answers(generator)
    during = [a for a in generator.attempts if spell.filled <= a.started <= spell.freed]
    panics = log_lines(postgres.log_path, log_from, "PANIC")
    no_space = log_lines(postgres.log_path, log_from, "No space left on device")
    figures = {
        "answers_sent": len(generator.attempts),
        "acknowledged": len(generator.acknowledged),
        "503s": len(refused),
        "sent_while_full": len(during),
        "statuses_while_full": statuses(during),
        "disk_mb": PG_DISK_MB,
        "used_mb_before": round(used_before / 2**20, 1),
        "filler_mb": round(spell.bytes_filled / 2**20, 1),
        "most_free_kb_while_full": spell.free_while_full // 1024,
        "full_s": round(spell.freed - spell.filled, 1),
        "server_down_after_s": round(down_at[0] - spell.filled, 1) if down_at else None,
        "checkpoint_while_full": checkpoint[0] if checkpoint else None,
        "stopped_when_freed": stopped,
        "started_by_test": starts,
        "panics_logged": len(panics),
        "enospc_logged": len(no_space),
        "writable_after_free_s": round(writable_after, 1),
        "drained_in_s": round(drained_in, 1),
    }
    print(f"PostgreSQL data dir full: {figures}")  # noqa: T201 - the run's figures
    if panics:
        print(f"first PANIC: {panics[0][:300]}")  # noqa: T201

    # While the database was full, ingest still took the answers without contact data (they
    # need only the broker).
    anonymous = [a for a in during if HalfAnonymous.anonymous(a.response_id)]
    assert any(a.status == 202 for a in anonymous), "no answer was accepted while PG was full"
    assert no_space, "PostgreSQL never ran out of space: the fault did not happen"
    await no_dead_letters(system, since)
    verdict = await check(system, generator, "PostgreSQL data dir full under load", figures)
    assert verdict.problems == []
    assert verdict.lost == 0
    result = await asyncio.to_thread(amcheck, system)
    assert result.returncode == 0, f"pg_amcheck found damage:\n{result.stdout}\n{result.stderr}"


# ------------------------------------------------------------------------------ Kafka full


async def test_kafka_log_dir_full_under_load(stack: Any) -> None:
    run_dir = stack.root / f"kafka-disk-{uuid.uuid4().hex[:6]}"
    # Only the log dirs (run_dir/data: the topics' partitions and KRaft's metadata log) are on
    # the small disk; the broker's own log and config stay on the real one.
    with small_disk(run_dir / "data", KAFKA_DISK_MB) as disk:
        async with own_broker(stack, run_dir=run_dir) as system:
            await kafka_full_under_load(system, disk)


async def kafka_full_under_load(system: ChaosSystem, disk: SmallDisk) -> None:
    broker = system.broker
    assert broker is not None
    used_before = disk.used_bytes()
    log_from = broker.log_path.stat().st_size
    since = await stream_ends(system)

    generator = TimedGenerator(system.url("ingest"), f"kfull-{uuid.uuid4().hex[:8]}")
    stop = asyncio.Event()
    load = asyncio.create_task(send_until(generator, stop, MIN_ANSWERS))
    try:
        await acknowledged_at_least(generator, 200)
        exited_at: list[float] = []

        def watch() -> None:
            if not exited_at and broker.process is not None and broker.process.poll() is not None:
                exited_at.append(time.monotonic())

        spell = await hold_full(disk, FULL_FOR_S, watch)
        exit_code = broker.process.poll() if broker.process is not None else None
        # Kafka takes a failed log dir offline until it restarts (it never brings one back by
        # itself); with its only log dir gone it halts. Either way the operator's move once
        # the space is back is a restart.
        restart_from = time.monotonic()
        await asyncio.to_thread(broker.restart)
        restarted = time.monotonic()

        async def accepting() -> bool:
            return bool(generator.new_acknowledgements(restarted))

        await wait_until(accepting, 60, "ingest acknowledging answers after the broker restart")
        # The first acknowledgement after the fault, of a request sent once space was back.
        first_new_202 = min(a.answered for a in generator.new_acknowledgements(spell.freed))
        # Some load after recovery, so the checkers see answers from both sides of the fault.
        await acknowledged_at_least(generator, len(generator.acknowledged) + 200)
    finally:
        stop.set()
        await load
    await system.wait_ready()
    drain_from = time.monotonic()
    await system.wait_quiescent(scale(180, 600))
    drained_in = time.monotonic() - drain_from

    refused = assert_clean_answers(generator)
    during = [a for a in generator.attempts if spell.filled <= a.started <= spell.freed]
    # From the broker's exit until the restart begins there is no broker process at all: a
    # new answer sent in that window and answered in it must not be acknowledged (a re-post of
    # an answer already acknowledged may be: ingest knows it without the broker). The window
    # ends where the restart begins, not where `restart()` returns: the new broker takes
    # produce requests as soon as it listens, seconds before its metadata check lets
    # `restart()` return.
    dead_from = exited_at[0] if exited_at else None

    acked = generator.new_acknowledgements()
    leaked = [
        (round(a.started - dead_from, 2), round(a.answered - dead_from, 2), a.status)
        for a in acked
        if dead_from is not None and a.started > dead_from and a.answered < restart_from
    ]
    acked_while_starting = [a for a in acked if restart_from < a.answered < restarted]
    storage_errors = log_lines(
        broker.log_path, log_from, "No space left on device", "KafkaStorageException"
    )
    failed_dir = log_lines(broker.log_path, log_from, "offline", "Halting", "Shutdown broker")
    # A 503 says "may not be stored; retry": a record whose acknowledgement was late stays in the
    # producer's buffer and reaches the broker after all: counted here, allowed by the design
    # (the sender's retry is deduplicated by event id), never a double count.
    stored = {
        row["event_id"]
        for row in await system.fetch(
            "SELECT event_id FROM scoring.answers WHERE tenant = $1", generator.tenant
        )
    }
    refused_but_stored = [
        r for r in generator.attempted - generator.acknowledged if generator.event_id(r) in stored
    ]
    first_503 = min((a.answered for a in refused if a.answered >= spell.filled), default=None)
    last_503 = max((a.answered for a in refused), default=None)
    figures = {
        "answers_sent": len(generator.attempts),
        "acknowledged": len(generator.acknowledged),
        "503s": len(refused),
        "distinct_answers": len(generator.attempted),
        "refused_but_stored": len(refused_but_stored),
        "sent_while_full": len(during),
        "statuses_while_full": statuses(during),
        "disk_mb": KAFKA_DISK_MB,
        "used_mb_before": round(used_before / 2**20, 1),
        "filler_mb": round(spell.bytes_filled / 2**20, 1),
        "full_s": round(spell.freed - spell.filled, 1),
        "broker_exited_after_s": round(exited_at[0] - spell.filled, 1) if exited_at else None,
        "broker_exit_code": exit_code,
        "first_503_after_fill_s": round(first_503 - spell.filled, 2) if first_503 else None,
        "refusing_for_s": round(last_503 - first_503, 1) if first_503 and last_503 else None,
        "restart_s": round(restarted - restart_from, 1),
        "acked_before_restart_returned": len(acked_while_starting),
        "first_202_after_free_s": round(first_new_202 - spell.freed, 1),
        "storage_errors_logged": len(storage_errors),
        "log_dir_failure_lines": len(failed_dir),
        "drained_in_s": round(drained_in, 1),
    }
    print(f"Kafka log dir full: {figures}")  # noqa: T201 - the run's figures
    for line in failed_dir[:5]:
        print(f"broker: {line[:300]}")  # noqa: T201

    assert storage_errors, "the broker never ran out of space: the fault did not happen"
    assert refused, "the broker could not write: some answers must have been refused with 503"
    assert leaked == [], (
        f"new answers acknowledged while no broker ran (sent, answered after its exit; "
        f"restart began {restart_from - (dead_from or 0):.2f}s after): {leaked[:10]}"
    )
    await no_dead_letters(system, since)
    verdict = await check(system, generator, "Kafka log dir full under load", figures)
    assert verdict.problems == []
    assert verdict.lost == 0
