"""Slack/Teams messages for new detractor tasks: posted from an outbox, retried with backoff,
and not lost when notify is killed between a failed attempt and the retry."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import TenantSettings
from anbefal.common.kafka import Publisher
from anbefal.devstack.testing import TEST_JWT_SECRET, ServiceProcess, call_task_action, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


class FakeWebhook:
    """An incoming-webhook endpoint that answers 500 to the first post, then 200 (as Slack
    answers `ok`). It keeps every post it got, in order."""

    def __init__(self) -> None:
        self.path = f"/services/{uuid.uuid4().hex}"
        self.posts: list[tuple[int, dict[str, Any]]] = []
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with hook._lock:
                    status = 500 if not hook.posts else 200
                    hook.posts.append((status, body))
                answer = b"ok" if status == 200 else b"internal_error"
                self.send_response(status if self.path == hook.path else 404)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test reads `posts`, not stderr

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def statuses(self) -> list[int]:
        with self._lock:
            return [status for status, _ in self.posts]


@pytest.fixture
def webhook() -> Iterator[FakeWebhook]:
    hook = FakeWebhook()
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()
    thread.join()


async def test_a_detractor_task_reaches_chat_once_despite_a_failure_and_a_kill(
    stack: Any, webhook: FakeWebhook
) -> None:
    env = stack.service_env(stack.new_database())
    logs = stack.root / "logs"
    first = ServiceProcess("notify", env, logs).start()
    second: ServiceProcess | None = None
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="chat-test")
    await publisher.start()
    tenant = f"chat-{uuid.uuid4().hex[:8]}"
    settings = TenantSettings(
        tenant=tenant, display_name="Acme", locale="da", chat_webhook_url=webhook.url,
        updated_at=datetime.now(UTC),
    )  # fmt: skip
    detractor = call_task_action(tenant, 2)  # score 2
    passive = call_task_action(tenant, 8).model_copy(update={"type": "follow_up_task"})
    promoter_call = call_task_action(tenant, 9).model_copy(update={"score": 9})
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="ops", sub="t")
    api = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)

    async def chat_log(notify: ServiceProcess) -> list[dict[str, Any]]:
        r = await api.get(f"{notify.url}/v1/tenants/{tenant}/chat-messages")
        messages: list[dict[str, Any]] = r.json()["chat_messages"]
        return messages

    try:
        await first.wait_ready()
        await publisher.wait_ready(30)
        await publisher.send(topics.TENANTS, settings.to_bytes(), key=settings.key)
        # The detractor's action twice (a redelivery), and two tasks that are not detractors'.
        records = [detractor, detractor, passive, promoter_call]
        await publisher.send_many(topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in records])

        async def failure_recorded() -> bool:
            log = await chat_log(first)
            return len(log) == 1 and log[0]["attempts"] == 1 and log[0]["status"] == "pending"

        await wait_until(failure_recorded, 60, "the first post failed and was recorded")
        assert webhook.statuses() == [500]
        # No chance to do anything more: the retry must come from the outbox row alone.
        first.kill()
        second = ServiceProcess("notify", env, logs).start()
        await second.wait_ready()

        async def posted() -> bool:
            log = await chat_log(second)
            return len(log) == 1 and log[0]["status"] == "sent"

        await wait_until(posted, 60, "the post retried and accepted")
        (message,) = await chat_log(second)
        tasks = (await api.get(f"{second.url}/v1/tenants/{tenant}/tasks")).json()["tasks"]
    finally:
        await api.aclose()
        await publisher.stop()
        first.stop()
        if second is not None:
            second.stop()
    assert webhook.statuses() == [500, 200]
    (failed_body, sent_body) = (body for _, body in webhook.posts)
    assert failed_body == sent_body  # the retry is the same message
    (task,) = [t for t in tasks if t["action_id"] == str(detractor.action_id)]
    assert sent_body["text"].splitlines() == [
        "Ny kritiker hos Acme: Kunde 2 gav 2",
        '"Slow support, case 2"',
        f"Ring tilbage senest {task['due_at'][:16].replace('T', ' ')} UTC"
        f" (ansvarlig: director@acme.example): http://127.0.0.1:8004/tasks/{task['id']}",
    ]
    assert (message["attempts"], message["task_id"], message["last_error"]) == (2, task["id"], None)
    assert "url" not in message  # the webhook URL is a credential
    assert len(tasks) == 3
