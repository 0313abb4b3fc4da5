"""PollingWorker owns the transaction: a step's writes are committed when it returns, rolled back
when it raises, and `after_commit` runs only after a committed step that did some work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.worker import PollingWorker, on_commit, wake_on_commit
from anbefal.devstack.testing import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(stack: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(stack.new_database(), pool_size=2)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE worker_test (id text PRIMARY KEY)"))
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def stored(db: async_sessionmaker[AsyncSession]) -> list[str]:
    async with db() as session:
        return list(await session.scalars(text("SELECT id FROM worker_test ORDER BY id")))


async def insert(session: AsyncSession, value: str) -> None:
    await session.execute(text("INSERT INTO worker_test (id) VALUES (:id)"), {"id": value})


async def test_a_step_is_committed_and_then_after_commit_runs(
    db: async_sessionmaker[AsyncSession],
) -> None:
    woken: list[bool] = []

    async def step(session: AsyncSession) -> int:
        await insert(session, "a")
        return 1

    worker = PollingWorker("test", db, step, poll_s=60, after_commit=lambda: woken.append(True))
    assert await worker.run_once() == 1
    assert await stored(db) == ["a"]
    assert woken == [True]


async def test_a_failing_step_is_rolled_back_and_wakes_nobody(
    db: async_sessionmaker[AsyncSession],
) -> None:
    woken: list[bool] = []

    async def step(session: AsyncSession) -> int:
        await insert(session, "b")
        raise RuntimeError("the step failed after writing")

    worker = PollingWorker("test", db, step, poll_s=60, after_commit=lambda: woken.append(True))
    with pytest.raises(RuntimeError):
        await worker.run_once()
    assert await stored(db) == []
    assert woken == []


async def test_a_step_with_nothing_to_do_wakes_nobody(
    db: async_sessionmaker[AsyncSession],
) -> None:
    woken: list[bool] = []

    async def step(session: AsyncSession) -> int:
        return 0

    worker = PollingWorker("test", db, step, poll_s=60, after_commit=lambda: woken.append(True))
    assert await worker.run_once() == 0
    assert woken == []


async def test_the_loop_survives_a_failed_step_and_drains_the_backlog(
    db: async_sessionmaker[AsyncSession],
) -> None:
    backlog = [f"row-{n}" for n in range(3)]
    failed = False

    async def step(session: AsyncSession) -> int:
        nonlocal failed
        if not backlog:
            return 0
        await insert(session, backlog[0])
        if not failed:
            failed = True
            raise RuntimeError("once")
        backlog.pop(0)
        return 1

    stop = asyncio.Event()
    worker = PollingWorker("test", db, step, poll_s=0.05)
    task = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(10):
            while backlog:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    assert await stored(db) == ["row-0", "row-1", "row-2"]


async def test_what_a_step_counts_is_counted_once_it_committed(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """A step's `on_commit` callbacks run after its commit, and never for a rolled-back try: a
    step retried after a failure must not count its work twice (the SLA clock's breaches)."""
    counted: list[str] = []
    fail = True

    async def step(session: AsyncSession) -> int:
        nonlocal fail
        await insert(session, "c")
        on_commit(session, lambda: counted.append("c"))
        if fail:
            fail = False
            raise RuntimeError("the step failed after counting")
        return 1

    worker = PollingWorker("test", db, step, poll_s=60)
    with pytest.raises(RuntimeError):
        await worker.run_once()
    assert counted == []
    assert await worker.run_once() == 1
    assert counted == ["c"]
    assert await stored(db) == ["c"]


async def test_a_commit_anywhere_in_the_process_wakes_the_workers_of_its_channel(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """Work written outside the worker (a route, a consumer) is taken at once, not at the next
    poll; a rolled-back write wakes nobody."""
    steps: list[list[str]] = []

    async def step(session: AsyncSession) -> int:
        steps.append(await stored(db))
        return 0

    async def write(value: str, channel: str, *, fail: bool = False) -> None:
        async with db() as session, session.begin():
            await insert(session, value)
            wake_on_commit(session, channel)
            if fail:
                raise RuntimeError("the writer failed")

    async def steps_taken(n: int) -> bool:
        return len(steps) >= n

    stop = asyncio.Event()
    worker = PollingWorker("test", db, step, poll_s=60, wakes_on="test-channel")
    task = asyncio.create_task(worker.run(stop))
    try:
        await wait_until(lambda: steps_taken(1), 10, "the first step")
        with pytest.raises(RuntimeError):
            await write("rolled-back", "test-channel", fail=True)
        await write("d", "another-channel")
        await write("e", "test-channel")
        await wait_until(lambda: steps_taken(2), 5, "the step after the commit")
        # Only the last commit woke it: the second step saw both committed rows.
        assert steps[1:] == [["d", "e"]]
    finally:
        stop.set()
        await task


async def test_a_commit_during_a_step_that_found_nothing_is_not_missed(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """A writer that commits while the worker's step runs, after the step looked and found
    nothing, wakes the worker again: its work is taken at once, not at the next poll."""
    steps: list[list[str]] = []

    async def step(session: AsyncSession) -> int:
        seen = await stored(db)
        if not steps:
            # The step has looked; now a writer commits before the step returns.
            async with db() as writer, writer.begin():
                await insert(writer, "f")
                wake_on_commit(writer, "late-channel")
        steps.append(seen)
        return 0

    async def steps_taken(n: int) -> bool:
        return len(steps) >= n

    stop = asyncio.Event()
    worker = PollingWorker("test", db, step, poll_s=3600, wakes_on="late-channel")
    task = asyncio.create_task(worker.run(stop))
    try:
        await wait_until(lambda: steps_taken(2), 10, "a step after the late commit")
        assert steps == [[], ["f"]]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_a_step_short_of_a_full_batch_is_not_followed_by_an_empty_one(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """A step that took fewer rows than its batch took all there were: the worker sleeps until
    woken instead of spending a transaction to find nothing."""
    backlog = [5, 3]  # a full batch of 5, then the 3 left
    steps: list[tuple[int, list[str]]] = []

    async def step(session: AsyncSession) -> int:
        done = backlog.pop(0) if backlog else 0
        steps.append((done, await stored(db)))
        return done

    async def steps_taken(n: int) -> bool:
        return len(steps) >= n

    async def woken_step_done() -> bool:
        return any(seen for _, seen in steps)

    stop = asyncio.Event()
    worker = PollingWorker("test", db, step, poll_s=3600, wakes_on="short-channel", batch=5)
    task = asyncio.create_task(worker.run(stop))
    try:
        await wait_until(lambda: steps_taken(2), 10, "the full step and the short one")
        async with db() as writer, writer.begin():
            await insert(writer, "g")
            wake_on_commit(writer, "short-channel")
        await wait_until(woken_step_done, 10, "the step the commit woke")
        assert steps == [(5, []), (3, []), (0, ["g"])]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
