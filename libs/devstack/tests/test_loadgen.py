"""The benchmarks' fixed-rate HTTP load against a server slower than the rate."""

from __future__ import annotations

import asyncio

from anbefal.devstack.loadgen import HttpLoad, at_rate


class SlowServer:
    """HTTP/1.1 with keep-alive that answers each request after `delay` seconds, counting the
    connections it was opened and how many were open at once."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.opened = 0
        self.open_now = 0
        self.most_open = 0
        self.answered = 0
        self.writers: list[asyncio.StreamWriter] = []

    def close_all(self) -> None:
        """Close every open connection, as a server does with idle keep-alive ones."""
        for writer in self.writers:
            writer.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        self.opened += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
                self.answered += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()


async def test_requests_over_the_cap_wait_in_the_client_not_in_new_connections() -> None:
    # 400 requests at 200/s against a server that takes 0.5 s each: with 64 connections it
    # answers 128/s, so hundreds wait at once. They wait in the client's queue, on the same 64
    # connections kept open, and every one is answered.
    server = SlowServer(delay=0.5)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    statuses: list[int] = []
    try:
        async with HttpLoad(connections=64) as load:

            async def send(i: int) -> None:
                r = await load.post(
                    f"http://127.0.0.1:{port}/x", content=b"{}", headers={"X-I": str(i)}
                )
                statuses.append(r.status_code)

            await at_rate(200, 2, send)
    finally:
        listener.close()
        await listener.wait_closed()
    assert statuses == [202] * 400
    assert server.answered == 400
    # The waiting requests reuse the same connections: none closed for being idle and reopened
    # (httpx's pool above its keep-alive limit opened one per request here). What the queue
    # costs in CPU is a benchmark's question (`bench/latency.py`), not a timed test's.
    assert server.most_open <= 64
    assert server.opened <= 64


async def test_posts_share_one_connection_and_survive_it_closed_while_idle() -> None:
    """The load's posts reuse a keep-alive connection rather than opening one per post (what
    the client costs per post is the benches' to print, not a test's to time). And a keep-alive
    connection the server closed while idle (uvicorn does after 5 s) is opened again for the
    next request rather than failing it, whether or not the client has seen the close yet."""
    server = SlowServer(delay=0)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/x"
    try:
        async with HttpLoad(connections=1) as load:
            r = await load.post(url, content=b"{}", headers={"Content-Type": "application/json"})
            assert (r.status_code, r.text) == (202, "{}")
            n = 300
            for _ in range(n):
                await load.post(url, content=b"{}", headers={})
            assert server.opened == 1
            server.close_all()
            r = await load.post(url, content=b"{}", headers={})
            assert r.status_code == 202
    finally:
        listener.close()
        await listener.wait_closed()
    assert server.answered == n + 2
    assert server.opened == 2
