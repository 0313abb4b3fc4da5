"""Posting chat messages to the tenant's Slack or Teams incoming webhook.

`ChatWorker` posts the `chat_messages` outbox's rows with httpx and retries with exponential
backoff until the webhook answers 2xx. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so
several notify copies share the work. The window left is the email worker's: the webhook
accepted the post but the commit marking it sent failed, and it is posted again (at-least-once).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.crypto import Undecryptable
from anbefal.common.logging import get_logger
from anbefal.common.tls import http_context
from anbefal.common.worker import PollingWorker
from anbefal.notify import repository
from anbefal.notify.chat import repository as chat_repository
from anbefal.notify.chat.service import open_url
from anbefal.notify.models import ChatMessage
from anbefal.notify.settings import NotifySettings

log = get_logger(__name__)


def _retry_after(response: httpx.Response) -> timedelta:
    value = response.headers.get("Retry-After", "")
    return timedelta(seconds=min(3600, int(value))) if value.isdigit() else timedelta(0)


class ChatWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: NotifySettings,
        *,
        batch: int = 20,
    ) -> None:
        self._settings = settings
        self._batch = batch
        self.worker = PollingWorker(
            chat_repository.SENDER,
            sessionmaker,
            self.send_due,
            poll_s=settings.email_poll_s,
            wakes_on=chat_repository.SENDER,
            batch=batch,
        )

    async def send_due(self, session: AsyncSession) -> int:
        messages = await chat_repository.claim_due_chat_messages(session, self._batch)
        if not messages:
            return 0
        # The process's one TLS context: a client's own would load the CA store per step.
        async with httpx.AsyncClient(
            timeout=self._settings.chat_timeout_s, follow_redirects=False, verify=http_context()
        ) as client:
            outcomes = [await self._post(client, message) for message in messages]
        await repository.settle(session, ChatMessage, outcomes, self.worker.wake_in)
        return len(messages)

    async def _post(self, client: httpx.AsyncClient, message: ChatMessage) -> repository.Outcome:
        # The URL is a credential: logs name the message and task, never the URL.
        bound = log.bind(
            tenant=message.tenant, chat_id=str(message.id), task_id=str(message.task_id)
        )
        failed = partial(
            repository.failed_attempt, message, max_attempts=self._settings.chat_max_attempts,
            now=datetime.now(UTC),
        )  # fmt: skip
        try:
            url = open_url(self._settings.keyring(), message.tenant, message.url)
        except Undecryptable:
            bound.error("chat webhook URL cannot be opened")
            return failed(
                "the webhook URL does not open with the data keys listed in ANBEFAL_DATA_KEYS: "
                "set the tenant's chat webhook again", permanent=True,
            )  # fmt: skip
        try:
            response = await client.post(url, json=message.payload)
        except httpx.HTTPError as exc:
            bound.warning(
                "chat post failed", error=type(exc).__name__, attempt=message.attempts + 1
            )
            return failed(f"{type(exc).__name__}: {exc}", permanent=False)
        if response.is_success:
            bound.info("chat message posted")
            return repository.delivered(message)
        # 429 and 5xx are the far end's trouble and pass; any other answer will not change.
        permanent = response.status_code != 429 and response.status_code < 500
        bound.warning(
            "chat post refused", status=response.status_code, permanent=permanent,
            attempt=message.attempts + 1,
        )  # fmt: skip
        return failed(
            f"HTTP {response.status_code}: {response.text[:500]}", permanent=permanent,
            at_least=_retry_after(response),
        )  # fmt: skip
