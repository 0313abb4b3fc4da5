"""The loop behind every background worker (outbox relay, email sender, SLA clock).

Work runs until there is none left, then the worker sleeps until it is woken (a consumer just
committed something for it) or the poll interval passes, so work committed by another copy of
the service is picked up too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from anbefal.common.logging import get_logger
from anbefal.common.transient import is_transient

log = get_logger(__name__)


class PollingWorker:
    def __init__(self, name: str, step: Callable[[], Awaitable[int]], *, poll_s: float) -> None:
        self.name = name
        self._step = step
        self._poll_s = poll_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await self._step()
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
