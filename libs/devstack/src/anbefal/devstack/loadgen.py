"""Load at a fixed arrival rate for the benchmarks: the schedule (`at_rate`) and an HTTP client
that stays cheap when the server falls behind it (`HttpLoad`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit


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


@dataclass(frozen=True)
class Answer:
    """What a benchmark reads of a response."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.text[:300]}")


class _Connection:
    """One keep-alive HTTP/1.1 connection: a request written whole, the answer read by its
    Content-Length (or its chunks)."""

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, content: bytes, headers: dict[str, str]) -> Answer:
        reused = self._streams is not None and not self._streams[0].at_eof()
        if not reused:
            # Never opened, or closed by the server while idle (keep-alive timeout).
            await self._reopen()
        head = [f"POST {path} HTTP/1.1", f"Host: {self._host}:{self._port}"]
        head += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
        head.append(f"Content-Length: {len(content)}")
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + content
        try:
            return await self._exchange(request)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            unanswered = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
            if not (reused and unanswered):
                raise
            # The server closed this idle connection just as the request went out, before
            # the close reached us: nothing of it was answered, so send it once more on a
            # new connection (what HTTP clients do for a reused keep-alive connection).
            await self._reopen()
            return await self._exchange(request)

    async def _reopen(self) -> None:
        await self.close()
        self._streams = await asyncio.open_connection(self._host, self._port)

    async def _exchange(self, request: bytes) -> Answer:
        assert self._streams is not None
        reader, writer = self._streams
        try:
            writer.write(request)
            return await self._answer(reader)
        except BaseException:
            await self.close()  # mid-answer: the connection's state is unknown
            raise

    @staticmethod
    async def _answer(reader: asyncio.StreamReader) -> Answer:
        lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
            return Answer(status, body)
        return Answer(status, await reader.readexactly(int(fields.get(b"content-length", 0))))

    async def close(self) -> None:
        streams, self._streams = self._streams, None
        if streams is not None:
            streams[1].close()
            with contextlib.suppress(Exception):
                await streams[1].wait_closed()


class HttpLoad:
    """The HTTP client of a fixed-rate load: at most `connections` requests in flight, each on a
    keep-alive connection of its own; the others wait in this client's queue.

    Plain HTTP/1.1 over asyncio streams, not a general client: httpx spent about 1 ms of CPU per
    post on the shared 2-core machine, so at 200/s a bench's own process was what fell behind
    (its posts' 202s came seconds late), and its pool (httpcore 1.0) walks every waiting request
    against every connection each time a request starts or ends. Here a post costs a few tens
    of µs however many wait. The most recently freed connection is used first, so a light load
    keeps few connections busy. A wait in the queue still counts in the caller's post -> answer
    time, from its schedule. Only `http://` URLs (the services the benches start)."""

    def __init__(self, connections: int = 64) -> None:
        self._connections: dict[tuple[str, int], list[_Connection]] = {}
        self._size = connections
        self._free: dict[tuple[str, int], asyncio.LifoQueue[_Connection]] = {}

    async def __aenter__(self) -> HttpLoad:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.gather(*(c.close() for cs in self._connections.values() for c in cs))

    async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> Answer:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"HttpLoad posts to http:// URLs only, not {url!r}")
        origin = (parts.hostname, parts.port or 80)
        free = self._free.get(origin)
        if free is None:
            free = self._free[origin] = asyncio.LifoQueue()
            self._connections[origin] = [_Connection(*origin) for _ in range(self._size)]
            for connection in self._connections[origin]:
                free.put_nowait(connection)
        connection = await free.get()
        try:
            path = parts.path or "/"
            return await connection.post(
                f"{path}?{parts.query}" if parts.query else path, content, headers
            )
        finally:
            free.put_nowait(connection)
