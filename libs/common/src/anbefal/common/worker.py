"""The loop behind every background worker (outbox relay, email sender, SLA clock).

Work runs until there is none left, then the worker sleeps until it is woken or the poll
interval passes, so work committed by another copy of the service is picked up too. Whoever
writes a worker's work (a route, a consumer, another worker) calls `wake_on_commit` with the
worker's channel in the same transaction: its commit wakes the workers of that channel running
in this process at once, so the poll interval only bounds what other copies wrote.

The worker owns the transaction: each step gets a session inside a transaction the worker opens,
and commits when the step returns (rolls back when it raises), so step code never commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from anbefal.common.logging import get_logger
from anbefal.common.transient import is_transient

log = get_logger(__name__)

# One step of work in the worker's transaction; returns how much it did (0: nothing left).
Step = Callable[[AsyncSession], Awaitable[int]]
_ON_COMMIT = "anbefal.on_commit"
_WAKE = "anbefal.wake"
# channel -> the workers of that channel running in this process
_running: dict[str, set[PollingWorker]] = {}


def on_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once the step's transaction committed; never if it rolls back. For what a
    step counts (metrics): a step retried after a failed commit must not count twice."""
    session.info.setdefault(_ON_COMMIT, []).append(callback)


def wake_on_commit(session: AsyncSession, channel: str) -> None:
    """Wake the running workers of `channel` once the session's transaction commits; never if
    it rolls back (a savepoint rolled back inside it may still wake them: a step that finds
    nothing costs one query)."""
    session.info.setdefault(_WAKE, set()).add(channel)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    for channel in session.info.pop(_WAKE, ()):
        for worker in _running.get(channel, ()):
            worker.wake()


@event.listens_for(Session, "after_transaction_end")
def _forget_after_rollback(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WAKE, None)  # after a commit, already taken


class PollingWorker:
    def __init__(
        self,
        name: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        step: Step,
        *,
        poll_s: float,
        after_commit: Callable[[], None] | None = None,
        wakes_on: str | None = None,
        batch: int | None = None,
    ) -> None:
        """`after_commit` runs after each committed step that did some work; `wakes_on`: the
        channel whose commits wake this worker while it runs (see `wake_on_commit`); `batch`:
        the most a step takes, so a step that did less took all there was and the worker
        sleeps until woken rather than stepping again to find nothing."""
        self.name = name
        self._sessionmaker = sessionmaker
        self._step = step
        self._poll_s = poll_s
        self._after_commit = after_commit
        self._wakes_on = wakes_on
        self._batch = batch
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def wake_in(self, seconds: float) -> None:
        """Wake the worker after `seconds` (when work it put off falls due, a retry's backoff),
        so that the poll interval need not be short for it."""
        asyncio.get_running_loop().call_later(max(0.0, seconds), self.wake)

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
        channel = _running.setdefault(self._wakes_on, set()) if self._wakes_on else set()
        channel.add(self)
        try:
            await self._run(stop)
        finally:
            channel.discard(self)

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            # Cleared before the step, not after: a commit that wakes the worker while the
            # step runs (after it looked and found nothing) must start another step, not
            # wait for the poll interval.
            self._wake.clear()
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
            if done and (self._batch is None or done >= self._batch):
                continue  # drain the backlog before sleeping
            waiters = {asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())}
            await asyncio.wait(waiters, timeout=self._poll_s, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
