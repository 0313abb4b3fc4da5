"""When a fault test's system never drains, its error says what each service says about
itself: the consumers' own view from /readyz, their lines about partitions, their warnings."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from anbefal.devstack.chaos import ChaosSystem
from anbefal.devstack.testing import ServiceProcess

READY = {
    "status": "ready",
    "checks": {
        "kafka": True,
        "consumer:t1-notify": {"ok": True, "lag": 0, "assigned": 0, "owned": 0},
    },
}


class _Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        body = json.dumps(READY).encode()
        self.send_response(200 if self.path == "/readyz" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def notify_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


async def test_the_explanation_names_each_consumers_view_assignments_and_warnings(
    tmp_path: Path, notify_port: int
) -> None:
    system = ChaosSystem(tmp_path, {"ANBEFAL_KAFKA_BOOTSTRAP": "unused"})
    notify = ServiceProcess("notify", {}, tmp_path / "logs")
    notify.port = notify_port
    lines = [
        {"event": "partitions assigned", "level": "info"},
        *({"event": f"batch committed {i}", "level": "info"} for i in range(50)),
        {"event": "partitions revoked", "level": "info"},
        {"event": "Heartbeat failed", "level": "warning", "logger": "aiokafka"},
        {"event": "no partitions assigned", "level": "info"},
    ]
    notify.log_path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    scoring = ServiceProcess("scoring", {}, tmp_path / "logs")  # never started: no answer
    system.processes = {"notify": notify, "scoring": scoring}

    system.sink.start()  # as `start` would; `stop` closes it with its event loop
    try:
        said = await system.explain()
    finally:
        system.sink.stop()

    assert "'consumer:t1-notify': {'ok': True, 'lag': 0, 'assigned': 0, 'owned': 0}" in said
    assert "unreadable: ConnectError" in said
    assert "Heartbeat failed" in said
    assert "batch committed" not in said
    for event in ("partitions assigned", "partitions revoked", "no partitions assigned"):
        assert event in said
