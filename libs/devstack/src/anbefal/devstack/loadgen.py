"""Load at a fixed arrival rate for the benchmarks: the schedule (`at_rate`) and an HTTP client
that stays cheap when the server falls behind it (`HttpLoad`)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any

import httpx


async def at_rate(
    rate: float, seconds: float, send: Callable[[int], Coroutine[Any, Any, None]]
) -> int:
    """Calls `send(i)` at `rate` per second for `seconds`, each on its own schedule, so a slow
    answer does not hold back the ones after it (a fixed arrival rate, as users make)."""
    total = int(rate * seconds)
    started = time.perf_counter()
    pending: list[asyncio.Task[None]] = []
    for i in range(total):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(send(i)))
    await asyncio.gather(*pending)
    return total


class HttpLoad:
    """The HTTP client of a fixed-rate load: at most `connections` requests in flight, each on a
    keep-alive connection of its own; the others wait in this client's queue.

    One httpx client with a pool of many connections does not keep up: its pool (httpcore 1.0)
    walks every waiting request against every connection each time a request starts or ends, and
    above `max_keepalive_connections` closes each connection that falls idle. When the server
    lagged at 200 answers/s, a few thousand requests waited in a pool of up to 512 connections:
    each step cost the client up to a second of CPU, it stopped sending, and the server sat idle
    with hundreds of connections open. Here each connection is a client of its own (its pool
    holds one request at most), so a request costs the same however many wait. The most
    recently freed connection is used first, so a light load keeps few connections busy.
    A wait in the queue still counts in the caller's post -> answer time, from its schedule."""

    def __init__(self, connections: int = 64, timeout: float = 60) -> None:
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        tls = ssl.create_default_context()  # one for all: each costs milliseconds to load
        self._clients = [
            httpx.AsyncClient(timeout=timeout, limits=one, verify=tls) for _ in range(connections)
        ]
        self._free: asyncio.LifoQueue[httpx.AsyncClient] = asyncio.LifoQueue()
        for client in self._clients:
            self._free.put_nowait(client)

    async def __aenter__(self) -> HttpLoad:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.gather(*(client.aclose() for client in self._clients))

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        client = await self._free.get()
        try:
            return await client.post(url, content=content, headers=headers)
        finally:
            self._free.put_nowait(client)
