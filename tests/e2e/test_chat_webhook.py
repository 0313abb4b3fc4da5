"""Slack/Teams messages for new detractor tasks: posted from an outbox, retried with backoff,
and not lost when notify is killed between a failed attempt and the retry."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import httpx
import pytest

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import TenantSettings
from anbefal.common.kafka import Publisher
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    asyncpg_dsn,
    call_task_action,
    caught_up,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


async def notify_past(env: dict[str, str], topic: str, what: str, timeout: float) -> None:
    """Wait until a notify group has applied `topic` to its end (its offsets in PostgreSQL)."""
    await wait_until(
        lambda: caught_up(
            env["ANBEFAL_KAFKA_BOOTSTRAP"], env["ANBEFAL_DATABASE_URL"], "notify",
            f"{env['ANBEFAL_GROUP_PREFIX']}-notify", [topic],
        ),
        timeout,
        what,
    )  # fmt: skip


async def past_earlier_actions(env: dict[str, str]) -> None:
    """Wait until a new notify group has read the actions topic to its end.

    It starts at the beginning, so it first works through every earlier test's actions: on a
    loaded machine that took longer than the waits for this test's own action (CI failed so)."""
    await notify_past(env, topics.ACTIONS, "notify past the earlier tests' actions", 300)


async def send_settings(
    publisher: Publisher, env: dict[str, str], settings: TenantSettings
) -> None:
    """The tenant's settings, applied by notify before the test sends its actions: notify posts
    to chat only for a tenant it knows, and the two topics are fetched and applied
    independently, so an action sent just after its tenant's settings could be applied first
    and never be posted (CI failed so once, under load)."""
    await publisher.send(topics.TENANTS, settings.to_bytes(), key=settings.key)
    await notify_past(env, topics.TENANTS, "notify has the tenant's settings", 60)


class FakeWebhook:
    """An incoming-webhook endpoint that answers 500 until `accepting` is set, then 200 (as
    Slack answers `ok`). It keeps every post it got, in order. The test decides when it starts
    accepting, so nothing depends on how fast notify retries."""

    def __init__(self) -> None:
        self.path = f"/services/{uuid.uuid4().hex}"
        self.posts: list[tuple[int, dict[str, Any]]] = []
        self.accepting = threading.Event()
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != hook.path:
                    # Another test's tenant (notify replays the whole topic) whose webhook
                    # port the system handed to us again: not ours to count.
                    status = 404
                else:
                    status = 200 if hook.accepting.is_set() else 500
                    with hook._lock:
                        hook.posts.append((status, body))
                answer = b"ok" if status == 200 else b"internal_error"
                self.send_response(status)
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


@contextmanager
def serving(hook: FakeWebhook) -> Iterator[FakeWebhook]:
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.server.shutdown()
        hook.server.server_close()
        thread.join()


async def set_webhook(notify: ServiceProcess, tenant: str, url: str) -> None:
    """Through notify's admin API: the URL is a credential and never travels on Kafka."""
    admin = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="t")
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {admin}"}) as api:
        r = await api.put(f"{notify.url}/v1/tenants/{tenant}/chat-webhook", json={"url": url})
    assert r.status_code == 200, r.text
    assert r.json() == {"configured": True, "host": "127.0.0.1"}


def chat_env(stack: Any) -> dict[str, str]:
    # The fake webhook is local http: the operator's setting lets any host through.
    env: dict[str, str] = stack.service_env(stack.new_database())
    env["ANBEFAL_CHAT_WEBHOOK_ANY_HOST"] = "true"
    return env


@pytest.fixture
def webhook() -> Iterator[FakeWebhook]:
    with serving(FakeWebhook()) as hook:
        yield hook


async def test_a_detractor_task_reaches_chat_once_despite_a_failure_and_a_kill(
    stack: Any, webhook: FakeWebhook
) -> None:
    env = chat_env(stack)
    logs = stack.root / "logs"
    first = ServiceProcess("notify", env, logs).start()
    second: ServiceProcess | None = None
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="chat-test")
    await publisher.start()
    tenant = f"chat-{uuid.uuid4().hex[:8]}"
    settings = TenantSettings(
        tenant=tenant, display_name="Acme", locale="da", updated_at=datetime.now(UTC)
    )
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
        await past_earlier_actions(env)
        await set_webhook(first, tenant, webhook.url)
        await send_settings(publisher, env, settings)
        # The detractor's action twice (a redelivery), and two tasks that are not detractors'.
        records = [detractor, detractor, passive, promoter_call]
        await publisher.send_many(topics.ACTIONS, [(a.key, a.to_bytes(), None) for a in records])

        async def failure_recorded() -> bool:
            log = await chat_log(first)
            return len(log) == 1 and log[0]["attempts"] >= 1 and log[0]["status"] == "pending"

        await wait_until(failure_recorded, 60, "a failed post recorded, pending a retry")
        # No chance to do anything more: the retry must come from the outbox row alone.
        first.kill()
        webhook.accepting.set()
        second = ServiceProcess("notify", env, logs).start()
        await second.wait_ready()

        async def posted() -> bool:
            log = await chat_log(second)
            return len(log) == 1 and log[0]["status"] == "sent"

        await wait_until(posted, 60, "the post retried and accepted")
        (message,) = await chat_log(second)
        tasks = (await api.get(f"{second.url}/v1/tenants/{tenant}/tasks")).json()["tasks"]
        stored = await stored_urls(env, tenant)
    finally:
        await api.aclose()
        await publisher.stop()
        first.stop()
        if second is not None:
            second.stop()
    statuses = webhook.statuses()
    assert statuses[-1] == 200
    assert set(statuses[:-1]) == {500}
    # Every failed attempt notify recorded is counted; one more post than that is the
    # at-least-once window (an attempt in flight when the process was killed).
    assert len(statuses) - message["attempts"] in (0, 1)
    bodies = [body for _, body in webhook.posts]
    assert all(body == bodies[-1] for body in bodies)  # every retry is the same message
    sent_body = bodies[-1]
    (task,) = [t for t in tasks if t["action_id"] == str(detractor.action_id)]
    assert sent_body["text"].splitlines() == [
        "Ny kritiker hos Acme: Kunde 2 gav 2",
        '"Slow support, case 2"',
        f"Ring tilbage senest {task['due_at'][:16].replace('T', ' ')} UTC"
        f" (ansvarlig: director@acme.example): http://127.0.0.1:8004/tasks/{task['id']}",
    ]
    assert (message["task_id"], message["last_error"]) == (task["id"], None)
    assert "url" not in message  # the webhook URL is a credential
    # ... sealed wherever it is stored: the tenant's webhook and the outbox row.
    assert stored
    assert all(webhook.url not in value and "127.0.0.1" not in value for value in stored)
    assert len(tasks) == 3


async def stored_urls(env: dict[str, str], tenant: str) -> list[str]:
    conn = await asyncpg.connect(asyncpg_dsn(env["ANBEFAL_DATABASE_URL"]))
    try:
        rows = await conn.fetch(
            "SELECT url_sealed AS v FROM notify.chat_webhooks WHERE tenant = $1"
            " UNION ALL SELECT url FROM notify.chat_messages WHERE tenant = $1",
            tenant,
        )
    finally:
        await conn.close()
    return [r["v"] for r in rows]


async def test_a_cancelled_task_is_not_posted_after_all(stack: Any) -> None:
    env = chat_env(stack)
    notify = ServiceProcess("notify", env, stack.root / "logs").start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="chat-cancel-test")
    await publisher.start()
    tenant = f"chatc-{uuid.uuid4().hex[:8]}"
    token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="ops", sub="t")
    api = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    # The webhook never accepts, so the post stays pending until the cancellation lands.
    with serving(FakeWebhook()) as hook:
        settings = TenantSettings(tenant=tenant, display_name="Acme", updated_at=datetime.now(UTC))
        detractor = call_task_action(tenant, 3)
        try:
            await notify.wait_ready()
            await publisher.wait_ready(30)
            await past_earlier_actions(env)
            await set_webhook(notify, tenant, hook.url)
            await send_settings(publisher, env, settings)
            await publisher.send(topics.ACTIONS, detractor.to_bytes(), key=detractor.key)
            log_url = f"{notify.url}/v1/tenants/{tenant}/chat-messages"

            async def status(expected: str) -> bool:
                log = (await api.get(log_url)).json()["chat_messages"]
                return len(log) == 1 and log[0]["status"] == expected and log[0]["attempts"] > 0

            await wait_until(lambda: status("pending"), 60, "a failed post, pending a retry")
            cancel = detractor.model_copy(update={"revision": 2, "cancelled": True, "score": 9})
            await publisher.send(topics.ACTIONS, cancel.to_bytes(), key=cancel.key)
            await wait_until(lambda: status("cancelled"), 60, "the post cancelled")
            (message,) = (await api.get(log_url)).json()["chat_messages"]
        finally:
            await api.aclose()
            await publisher.stop()
            notify.stop()
    # Every post the webhook saw was a failure, and the cancelled row is never retried.
    assert hook.statuses() == [500] * message["attempts"]
    assert message["last_error"] == "the task was cancelled"
