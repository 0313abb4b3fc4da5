"""The email outbox worker: claims due rows with `FOR UPDATE SKIP LOCKED` and sends them.

Several notify copies share the outbox without sending a row twice. The one window left: the
relay accepted a message but the commit that marks it sent failed; the row is sent again, with
the same Message-ID. Email is therefore at-least-once (docs/architecture.md §4).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import hops, metrics
from anbefal.common.crypto import Keyring
from anbefal.common.logging import get_logger
from anbefal.common.worker import PollingWorker, on_commit
from anbefal.notify import repository
from anbefal.notify.email import repository as email_repository
from anbefal.notify.email.sender import EmailSender, PermanentFailure, build_message
from anbefal.notify.models import Email
from anbefal.notify.unsubscribe import service as unsubscribe

log = get_logger(__name__)


class EmailWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: EmailSender,
        *,
        poll_s: float,
        max_attempts: int,
        max_per_recipient_per_day: int,
        keyring: Callable[[], Keyring],
        batch: int = 20,
    ) -> None:
        self._sender = sender
        self._daily_cap = max_per_recipient_per_day
        self._keyring = keyring
        self._max_attempts = max_attempts
        self._batch = batch
        self.worker = PollingWorker(
            email_repository.SENDER,
            sessionmaker,
            self.send_due,
            poll_s=poll_s,
            wakes_on=email_repository.SENDER,
            batch=batch,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """The worker's loop; the connections kept to the relay are closed when it ends."""
        try:
            await self.worker.run(stop)
        finally:
            await self._sender.aclose()

    async def send_due(self, session: AsyncSession) -> int:
        emails = await email_repository.claim_due_emails(session, self._batch)
        if not emails:
            return 0
        now = datetime.now(UTC)
        # Checked at send time, not when the row was written: an address unsubscribed while
        # its mail waited for a retry is not sent either.
        suppressed = await unsubscribe.suppressed(session, emails, self._keyring())
        capped = [e for e in emails if _capped(e)]
        sent_today = await email_repository.respondent_mail_sent_to(
            session, {e.recipient for e in capped if e.recipient}, timedelta(days=1)
        )
        outcomes: list[repository.Outcome] = []
        ready: list[tuple[Email, EmailMessage]] = []
        for email in emails:
            bound = log.bind(tenant=email.tenant, email_id=str(email.id), trace_id=email.trace_id)
            if email.recipient and (email.tenant, email.recipient.lower()) in suppressed:
                outcomes.append(
                    repository.not_sent(email, "suppressed", "the recipient unsubscribed")
                )
                bound.info("email not sent: the recipient unsubscribed")
                continue
            if not email.recipient:
                outcomes.append(
                    repository.failed_attempt(
                        email,
                        "the respondent has no email address",
                        permanent=True,
                        max_attempts=self._max_attempts,
                        now=now,
                    )  # fmt: skip
                )
                bound.warning("email not sendable: no recipient")
                continue
            if _capped(email) and self._over_daily_cap(email.recipient, sent_today):
                reason = (
                    f"not sent: {email.recipient} had {self._daily_cap} mails a day already "
                    "(ANBEFAL_EMAIL_MAX_PER_RECIPIENT_PER_DAY)"
                )
                outcomes.append(repository.not_sent(email, "skipped", reason))
                metrics.EMAILS_CAPPED.labels(email.template).inc()
                bound.warning("email skipped: the recipient's daily cap", cap=self._daily_cap)
                continue
            ready.append((email, self._message(email, email.recipient)))
        # The batch's SMTP conversations overlap: a mail does not wait for the ones before it.
        results = await asyncio.gather(
            *(self._sender.send(message) for _, message in ready), return_exceptions=True
        )
        sent: list[Email] = []
        for (email, _), result in zip(ready, results, strict=True):
            if result is None:
                sent.append(email)
                outcomes.append(repository.delivered(email))
            elif isinstance(result, Exception):
                outcomes.append(self._failed(email, result, now))
            else:
                raise result  # cancelled: the step rolls back, nothing is marked
        await repository.settle(session, Email, outcomes, self.worker.wake_in)
        for email in sent:
            metrics.EMAILS_SENT.labels(email.template).inc()
            log.info(
                "email sent", tenant=email.tenant, email_id=str(email.id),
                trace_id=email.trace_id, template=email.template, message_id=email.message_id,
            )  # fmt: skip
        queued = [e.created_at.timestamp() for e in sent]
        on_commit(session, lambda: hops.observe(hops.EMAIL_SENT, queued, time.time()))
        return len(emails)

    @staticmethod
    def _message(email: Email, recipient: str) -> EmailMessage:
        return build_message(
            sender=email.sender,
            recipient=recipient,
            reply_to=email.reply_to,
            subject=email.subject,
            body=email.body,
            message_id=email.message_id,
            unsubscribe_url=email.unsubscribe_url,
            html=email.html,
            images=email.images,
        )

    def _failed(self, email: Email, error: Exception, now: datetime) -> repository.Outcome:
        bound = log.bind(tenant=email.tenant, email_id=str(email.id), trace_id=email.trace_id)
        permanent = isinstance(error, PermanentFailure)
        if permanent:
            bound.error("email refused permanently", error=str(error))
        else:
            bound.warning("email attempt failed", error=repr(error), attempt=email.attempts + 1)
        metrics.EMAILS_FAILED.labels(email.template).inc()
        return repository.failed_attempt(
            email, str(error) if permanent else repr(error), permanent=permanent,
            max_attempts=self._max_attempts, now=now,
        )  # fmt: skip

    def _over_daily_cap(self, recipient: str, sent_today: dict[str, int]) -> bool:
        """Over the address's daily cap, counting the mail sent and the mail of this batch
        (`sent_today` counts a mail under the cap as sent from here on)."""
        address = recipient.lower()
        if sent_today.get(address, 0) >= self._daily_cap:
            return True
        sent_today[address] = sent_today.get(address, 0) + 1
        return False


def _capped(email: Email) -> bool:
    """Staff mail (no unsubscribe link) goes to the tenant's own people: not capped."""
    return bool(email.unsubscribe_url and email.recipient)
