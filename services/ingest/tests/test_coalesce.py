"""Calls that arrive while a round trip runs share the next one, each getting its own results."""

from __future__ import annotations

import asyncio

import pytest

from anbefal.ingest.intake.coalesce import Coalescer


async def test_calls_that_arrive_meanwhile_share_the_next_round_trip() -> None:
    runs: list[list[int]] = []
    gate = asyncio.Event()

    async def double(items: list[int]) -> list[int]:
        runs.append(list(items))
        if len(runs) == 1:
            await gate.wait()
        return [2 * i for i in items]

    coalesce = Coalescer(double)
    first = asyncio.create_task(coalesce([1]))
    await asyncio.sleep(0)  # the first round trip has begun, alone
    later = [asyncio.create_task(coalesce([10 * n, 10 * n + 1])) for n in range(1, 4)]
    await asyncio.sleep(0)
    gate.set()
    assert await first == [2]
    assert await asyncio.gather(*later) == [[20, 22], [40, 42], [60, 62]]
    assert runs == [[1], [10, 11, 20, 21, 30, 31]]


async def test_a_failed_round_trip_fails_each_of_its_callers_only() -> None:
    async def fail_odd(items: list[int]) -> list[int]:
        if items[0] % 2:
            raise OSError("down")
        return items

    coalesce = Coalescer(fail_odd)
    with pytest.raises(OSError, match="down"):
        await coalesce([1])
    assert await coalesce([2]) == [2]


async def test_the_deadline_answers_every_waiting_caller_and_the_next_call_works() -> None:
    release = asyncio.Event()

    async def slow(items: list[int]) -> list[int]:
        if 1 in items:
            await release.wait()
        return items

    coalesce = Coalescer(slow, timeout_s=0.2)
    started = asyncio.get_running_loop().time()
    results = await asyncio.gather(coalesce([1]), coalesce([1]), return_exceptions=True)
    assert all(isinstance(r, TimeoutError) for r in results)
    assert asyncio.get_running_loop().time() - started < 1
    release.set()
    assert await coalesce([3]) == [3]
    coalesce.cancel()
