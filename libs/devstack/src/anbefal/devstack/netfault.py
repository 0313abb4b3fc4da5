"""A controllable TCP proxy for the network faults (tests/faults).

Put a `FaultProxy` between a service and a port it talks to (PostgreSQL, the broker) and switch
its mode while the service runs:

- `pass`: bytes flow both ways;
- `blackhole`: the network swallows everything and says nothing. Bytes read from either side are
  dropped; new connections are accepted and held without ever reaching the target; no RST, no
  FIN. A client that waits without a timeout of its own waits until the blackhole ends;
- `reset`: every open connection is closed with an RST, and so is every new one;
- `latency`: bytes flow, each direction `latency_s` later, so a round trip takes twice that
  longer (a delay line: throughput is kept, as
  on a long link, rather than serialising chunk after chunk).

A stream whose bytes were dropped cannot be resumed (a real network would retransmit them; this
proxy has thrown them away), so when a blackhole ends those connections are reset, as a peer
that forgot them would reset them. Connections that carried nothing meanwhile carry on.

The proxy runs its own event loop in a thread, so the test's loop may block (a broker restart,
a `time.sleep` in a library) without stalling the traffic of the services it stands between.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

_CHUNK = 64 * 1024


class Mode(enum.StrEnum):
    PASS = "pass"
    BLACKHOLE = "blackhole"
    RESET = "reset"
    LATENCY = "latency"


@dataclass
class ProxyStats:
    """What the proxy did, so a test can prove its fault hit something."""

    accepted: int = 0
    reset: int = 0
    held: int = 0  # connections accepted during a blackhole (never sent on)
    dropped_bytes: int = 0
    forwarded_bytes: int = 0


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close with an RST rather than a FIN: SO_LINGER with a zero timeout, then abort."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass(eq=False)
class _Connection:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    poisoned: bool = False  # bytes of this stream were dropped: it can never be resumed
    finished: int = 0  # directions that ended
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        _rst(self.client)
        if self.upstream is not None:
            _rst(self.upstream)
        for task in self.tasks:
            task.cancel()


class FaultProxy:
    """127.0.0.1:`port` → `target_host`:`target_port`, with a switchable fault."""

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1", port: int = 0) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = port
        self.mode = Mode.PASS
        self.latency_s = 0.0
        self.stats = ProxyStats()
        self._connections: set[_Connection] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # ------------------------------------------------------------------- control (any thread)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def set_mode(self, mode: Mode, *, latency_s: float = 0.1) -> None:
        self._call(self._set_mode(mode, latency_s))

    def passing(self) -> None:
        self.set_mode(Mode.PASS)

    def blackhole(self) -> None:
        self.set_mode(Mode.BLACKHOLE)

    def reset(self) -> None:
        self.set_mode(Mode.RESET)

    def latency(self, seconds: float = 0.1) -> None:
        self.set_mode(Mode.LATENCY, latency_s=seconds)

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    # ------------------------------------------------------------------- the proxy's own loop

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [t for conn in self._connections for t in conn.tasks]
        for conn in list(self._connections):
            conn.abort()
        self._connections.clear()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _set_mode(self, mode: Mode, latency_s: float) -> None:
        previous, self.mode = self.mode, mode
        self.latency_s = latency_s if mode is Mode.LATENCY else 0.0
        if mode is Mode.RESET:
            self._abort(set(self._connections))
        elif previous is Mode.BLACKHOLE and mode is not Mode.BLACKHOLE:
            self._abort({c for c in self._connections if c.poisoned or c.upstream is None})

    def _abort(self, connections: set[_Connection]) -> None:
        for conn in connections:
            conn.abort()
            self.stats.reset += 1
        self._connections -= connections

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.accepted += 1
        if self.mode is Mode.RESET:
            self.stats.reset += 1
            _rst(writer)
            return
        conn = _Connection(writer)
        self._connections.add(conn)
        if self.mode is Mode.BLACKHOLE:
            # Accept and hold: the client believes it is connected and hears nothing back.
            self.stats.held += 1
            conn.poisoned = True
            conn.tasks.append(asyncio.current_task())  # type: ignore[arg-type]
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await reader.read(_CHUNK):
                    self.stats.dropped_bytes += len(data)
            self._connections.discard(conn)
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            # The target is down: the client sees what it would see without the proxy.
            self._connections.discard(conn)
            _rst(writer)
            return
        conn.upstream = up_writer
        conn.tasks += [
            asyncio.create_task(self._pump(conn, reader, up_writer)),
            asyncio.create_task(self._pump(conn, up_reader, writer)),
        ]

    async def _pump(
        self, conn: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """One direction: read, then deliver through a delay line (due time, bytes; None at
        the end of the stream)."""
        line: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()
        deliver = asyncio.create_task(self._deliver(conn, line, writer))
        clean = False
        try:
            while data := await reader.read(_CHUNK):
                if conn.poisoned or self.mode is Mode.BLACKHOLE:
                    conn.poisoned = True
                    self.stats.dropped_bytes += len(data)
                    continue
                line.put_nowait((time.monotonic() + self.latency_s, data))
            line.put_nowait((time.monotonic() + self.latency_s, None))
            clean = await deliver
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            deliver.cancel()
            conn.finished += 1
            if not clean:
                # A reset (or a write into a closed socket) on one side: the other side sees an
                # RST too, as it would on a direct connection.
                if conn in self._connections:
                    self._connections.discard(conn)
                    conn.abort()
            elif conn.finished == 2:
                self._connections.discard(conn)
                conn.client.close()
                if conn.upstream is not None:
                    conn.upstream.close()

    async def _deliver(
        self,
        conn: _Connection,
        line: asyncio.Queue[tuple[float, bytes | None]],
        writer: asyncio.StreamWriter,
    ) -> bool:
        """True when the stream ended with a FIN that was passed on."""
        try:
            while True:
                due, data = await line.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    if conn.poisoned:
                        return False
                    if writer.can_write_eof():
                        writer.write_eof()  # a half close travels on
                    return True
                if conn.poisoned or self.mode is Mode.BLACKHOLE:
                    conn.poisoned = True
                    self.stats.dropped_bytes += len(data)
                    continue
                writer.write(data)
                await writer.drain()
                self.stats.forwarded_bytes += len(data)
        except OSError:
            return False
