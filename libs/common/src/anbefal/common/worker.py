"""The loop behind every background worker (outbox relay, email sender, SLA clock).

Work runs until there is none left, then the worker sleeps until it is woken (a consumer just
committed something for it) or the poll interval passes, so work committed by another copy of
the service is picked up too.

The worker owns the transaction: each step gets a session inside a transaction the worker opens,
and commits when the step returns (rolls back when it raises), so step code never commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.logging import get_logger
from anbefal.common.transient import is_transient

log = get_logger(__name__)

# One step of work in the worker's transaction; returns how much it did (0: nothing left).
Step = Callable[[AsyncSession], Awaitable[int]]
_ON_COMMIT = "anbefal.on_commit"


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once the step's transaction committed; never if it rolls back. For what a
    step counts (metrics): a step retried after a failed commit must not count twice."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


class PollingWorker:
    def __init__(
        self,
        name: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        step: Step,
        *,
        poll_s: float,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        """`after_commit` runs after each committed step that did some work (to wake the worker
        that takes it on, say)."""
        self.name = name
        self._sessionmaker = sessionmaker
        self._step = step
        self._poll_s = poll_s
        self._after_commit = after_commit
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """One step in its own transaction, committed before this returns."""
        async with self._sessionmaker() as session, session.begin():
            done = await self._step(session)
        for callback in session.info.pop(_ON_COMMIT, []):
            callback()
        if done and self._after_commit is not None:
            self._after_commit()
        return done

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception as exc:
                # The step's transaction rolled back; nothing is lost, so try again later. A
                # failure that is not the infrastructure's is a bug: logged with its traceback.
                if is_transient(exc):
                    log.warning("worker step failed; retrying", worker=self.name, error=repr(exc))
                else:
                    log.exception("worker step failed; retrying", worker=self.name, error=repr(exc))
                done = 0
            if done:
                continue  # drain the backlog before sleeping
            self._wake.clear()
            waiters = {asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())}
            await asyncio.wait(waiters, timeout=self._poll_s, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
