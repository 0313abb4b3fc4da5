"""`/metrics` on its own internal port, beside the service's API port.

The figures name consumer groups, routes and (hashed) tenants: nothing for the internet. Each
service process serves them on `ANBEFAL_METRICS_HOST:ANBEFAL_METRICS_PORT` (by default the
loopback and the service's dev metrics port, 9001-9004), which a deployment exposes to
Prometheus only. Several worker processes of one service share the port (SO_REUSEPORT), as
they share the API port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

from anbefal.common.app.health import metrics_router
from anbefal.common.app.runtime import Runtime, Wiring
from anbefal.common.settings import BaseServiceSettings


class _SidecarServer(uvicorn.Server):
    """uvicorn's server without signal handlers of its own: the service's API server owns
    SIGTERM, and this one stops when the service's lifespan ends."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def metrics_app(runtime: Runtime[BaseServiceSettings], wiring: Wiring[object]) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime
    app.state.wiring = wiring
    app.include_router(metrics_router())
    return app


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def serve_metrics(app: FastAPI, host: str, port: int) -> AsyncIterator[None]:
    """Serve `app` on host:port while the context is open."""
    sock = _listening_socket(host, port)
    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
    server = _SidecarServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="metrics-server")
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if task.done():
        sock.close()
        task.result()  # raises why it could not start
        raise RuntimeError(f"the metrics server on {host}:{port} stopped at start-up")
    try:
        yield
    finally:
        server.should_exit = True
        await task
        sock.close()
