"""One round trip for many requests: the calls that arrive while a round trip is running share
the next one.

Under load, a webhook's own work is microseconds, but each statement it waits for costs a round
trip and, on a busy machine, a turn on the CPU for the database too: requests that each ran
their own statements queued behind each other. Here the first call starts a round trip at once
(no added wait when the service is quiet); the calls that come while it runs are collected and
served together by the next, so the number of round trips follows the database's pace, not the
number of requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Batch(Generic[T, R]):
    """The calls that share one round trip; with a deadline, each of them gets a TimeoutError
    when it passes (the round trip itself goes on)."""

    def __init__(self, timeout_s: float | None) -> None:
        self.items: list[T] = []
        self.waiters: list[tuple[int, int, asyncio.Future[list[R]]]] = []
        self._deadline = (
            None
            if timeout_s is None
            else asyncio.get_running_loop().call_later(
                timeout_s, self.fail, TimeoutError(f"no answer within {timeout_s}s")
            )
        )

    def add(self, items: list[T], waiter: asyncio.Future[list[R]]) -> None:
        start = len(self.items)
        self.items.extend(items)
        self.waiters.append((start, len(self.items), waiter))

    def resolve(self, results: list[R]) -> None:
        if len(results) != len(self.items):
            self.fail(RuntimeError(f"{len(results)} results for {len(self.items)} items"))
            return
        self._stop_deadline()
        for start, end, waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(results[start:end])

    def fail(self, exc: Exception) -> None:
        self._stop_deadline()
        for _, _, waiter in self.waiters:
            if not waiter.done():
                waiter.set_exception(exc)

    def cancel(self) -> None:
        self._stop_deadline()
        for _, _, waiter in self.waiters:
            waiter.cancel()

    def _stop_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()


class Coalescer(Generic[T, R]):
    """`await coalescer(items)` is `run(items)`, with the items of every call that arrived
    meanwhile in the same `run`; `run` returns one result per item, in order.

    `timeout_s` bounds each caller's wait (from the moment its batch began collecting) by one
    timer per batch, not a timeout per call: `asyncio.timeout` and `shield` on every request
    cost more CPU than the request's share of the round trip."""

    def __init__(
        self, run: Callable[[list[T]], Awaitable[list[R]]], *, timeout_s: float | None = None
    ) -> None:
        self._run = run
        self._timeout_s = timeout_s
        self._next: _Batch[T, R] | None = None  # collecting; None: nobody waits
        self._loop_task: asyncio.Task[None] | None = None

    async def __call__(self, items: list[T]) -> list[R]:
        waiter: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        batch = self._next
        if batch is None:
            batch = self._next = _Batch(self._timeout_s)
        batch.add(items, waiter)
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._serve())
        return await waiter

    async def _serve(self) -> None:
        """Run each collected batch in turn, until none is waiting."""
        while (batch := self._next) is not None:
            self._next = None
            try:
                results = await self._run(batch.items)
            except Exception as exc:
                batch.fail(exc)
            except BaseException:  # cancelled: nobody may be left waiting
                batch.cancel()
                if self._next is not None:
                    self._next.cancel()
                    self._next = None
                raise
            else:
                batch.resolve(results)

    def cancel(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
