"""The chat worker against PostgreSQL and a local webhook: a step with nothing to post costs
one query, and posting shares one TLS context for the process."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.devstack.testing import TEST_DATA_KEYS, TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS
from anbefal.notify.chat.service import seal_url
from anbefal.notify.chat.worker import ChatWorker
from anbefal.notify.models import ChatMessage
from anbefal.notify.settings import NotifySettings

pytestmark = pytest.mark.integration

SETTINGS = NotifySettings(
    jwt_secret=TEST_JWT_SECRET,
    data_keys=TEST_DATA_KEYS,
    unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS,
    chat_webhook_any_host=True,
)


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    posted: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", posted
    server.shutdown()
    server.server_close()


async def test_idle_steps_load_no_certificates_and_posts_share_one_context(
    stack: Any, hook: tuple[str, list[dict[str, Any]]], trust_store_loads: list[object]
) -> None:
    url, posted = hook
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    worker = ChatWorker(db, SETTINGS)
    tenant = f"chat-{uuid.uuid4().hex[:8]}"
    try:
        for _ in range(3):
            assert await worker.worker.run_once() == 0
        assert trust_store_loads == []  # nothing to post: no client, no certificates

        for n in range(2):
            async with db() as session, session.begin():
                session.add(
                    ChatMessage(
                        id=uuid.uuid4(),
                        tenant=tenant,
                        task_id=uuid.uuid4(),
                        url=seal_url(SETTINGS.keyring(), tenant, url),
                        payload={"text": f"{n}"},
                    )  # fmt: skip
                )
            assert await worker.worker.run_once() == 1
        async with db() as session:
            statuses = list(
                await session.scalars(
                    select(ChatMessage.status).where(ChatMessage.tenant == tenant)
                )
            )
    finally:
        await engine.dispose()
    assert sorted(p["text"] for p in posted) == ["0", "1"]
    assert statuses == ["sent", "sent"]
    assert len(trust_store_loads) <= 1  # one context for the process, not one per step
