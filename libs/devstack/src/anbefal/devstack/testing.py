"""Helpers for tests that run the services as real processes against real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from anbefal.common.crypto import key_spec
from anbefal.common.db import asyncpg_dsn as asyncpg_dsn
from anbefal.common.events import Action, Respondent, action_id

TEST_JWT_SECRET = "test-secret-" + "k" * 40
TEST_DATA_KEYS = key_spec("test1", b"d" * 32)
TEST_UNSUBSCRIBE_KEYS = key_spec("test1", b"u" * 32)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServiceProcess:
    """One service started with `anbefal serve`, as `make run` starts it."""

    def __init__(self, service: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.service = service
        self.port = free_port()
        self.metrics_port = free_port()
        self.env = {**env, "ANBEFAL_METRICS_PORT": str(self.metrics_port)}
        self.log_path = log_dir / f"{service}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        """The internal port's base URL: `/metrics` is served there, not on `url`."""
        return f"http://127.0.0.1:{self.metrics_port}"

    def start(self) -> ServiceProcess:
        # With test-only fault flags, through the entry point that reads them.
        faulty = any(name.startswith("ANBEFAL_FAULT_") for name in self.env)
        entry = "anbefal.devstack.faultserve" if faulty else "anbefal.cli.main"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    entry,
                    "serve",
                    self.service,
                    "--port",
                    str(self.port),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def wait_ready(self, timeout: float = 120) -> None:
        """Until /readyz answers 200; if it never does, the error holds its last answer (the
        failing check) and the log's tail."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        async with httpx.AsyncClient() as client:
            while True:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"{self.service} exited:\n{self.log_tail()}")
                try:
                    answer = await client.get(f"{self.url}/readyz", timeout=2)
                    if answer.status_code == 200:
                        return
                    last = f"{answer.status_code} {answer.text[:2000]}"
                except httpx.HTTPError as error:
                    last = repr(error)
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{self.service} not ready in {timeout}s; /readyz said: {last}\n"
                        f"{self.log_tail()}"
                    )
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait (graceful), then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float, message: str, interval: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s: {message}")
        await asyncio.sleep(interval)


async def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    topics = list(topics)
    # Subscribing (without a group) makes start() load these topics' metadata.
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        if not partitions:
            raise RuntimeError(f"no partitions known for {topics}")
        ends = await consumer.end_offsets(partitions)
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}
    finally:
        # aiokafka's group-less coordinator cancels an internal task on stop and lets the
        # CancelledError escape when stop follows start closely; it is not ours to propagate.
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


async def published(bootstrap: str, topic: str, key_prefix: str) -> list[bytes]:
    """The values of every record on `topic` so far whose key starts with `key_prefix` (a
    test's own tenant: keys start `tenant:`), in offset order per partition. What a relay
    sent is read here: the outbox keeps a row only until it is published."""
    ends = {tp: end for tp, end in (await end_offsets(bootstrap, [topic])).items() if end}
    if not ends:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t, p in ends]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        values: dict[TopicPartition, list[bytes]] = {tp: [] for tp in partitions}
        owed = set(partitions)
        deadline = time.monotonic() + 60
        while owed:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: not read to its end within 60 s")
            for tp, records in (await consumer.getmany(*owed, timeout_ms=1000)).items():
                for record in records:
                    if record.offset >= ends[(tp.topic, tp.partition)]:
                        break
                    key = record.key or b""
                    if key.startswith(key_prefix.encode()) and record.value is not None:
                        values[tp].append(record.value)
                if await consumer.position(tp) >= ends[(tp.topic, tp.partition)]:
                    owed.discard(tp)
        return [v for tp in partitions for v in values[tp]]
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.stop()


async def consumer_lag(
    bootstrap: str, database_url: str, schema: str, group: str, topics: Iterable[str]
) -> dict[str, int]:
    """Records the group has not yet processed, per "topic/partition" behind (empty: caught
    up), from its offsets stored in PostgreSQL and the broker's end offsets."""
    ends = await end_offsets(bootstrap, topics)
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(
            f'SELECT topic, "partition", next_offset FROM "{schema}".consumer_offsets '
            "WHERE group_id = $1",
            group,
        )
    finally:
        await conn.close()
    stored = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
    return {
        f"{topic}/{partition}": end - stored.get((topic, partition), 0)
        for (topic, partition), end in sorted(ends.items())
        if end > stored.get((topic, partition), 0)
    }


async def caught_up(
    bootstrap: str, database_url: str, schema: str, group: str, topics: Iterable[str]
) -> bool:
    """True when the group's offsets stored in PostgreSQL reached the end of every partition."""
    return not await consumer_lag(bootstrap, database_url, schema, group, topics)


def call_task_action(tenant: str, n: int) -> Action:
    """A detractor's call-task action as closed_loop would publish it; task `n` is due in
    `n - 2` hours (so the first two are overdue) and its respondent is "Kunde n"."""
    now = datetime.now(UTC)
    response = uuid.uuid4()
    return Action(
        action_id=action_id(response, "detractor-call"),
        tenant=tenant,
        type="call_task",
        rule_id="detractor-call",
        response_event_id=response,
        response_version=1,
        kind="nps",
        score=n % 7,
        comment=f"Slow support, case {n}",
        answered_at=now - timedelta(hours=50 - n),
        decided_at=now,
        assignee="director@acme.example",
        assignee_role="director",
        due_at=now + timedelta(hours=n - 2),
        priority=2,
        respondent=Respondent(key=f"c-{n}", name=f"Kunde {n}", phone=f"+45 12 34 56 {n:02d}"),
    )


@contextlib.contextmanager
def statements_run(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every statement `engine` sends PostgreSQL meanwhile: an executemany counts once per row
    (it runs once per row), a multi-row VALUES once (its parameters are one flat tuple)."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, params: Any, ctx: Any, many: bool) -> None:
        seen.extend([statement] * (len(params) if many and isinstance(params, list) else 1))

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
