"""The mail worker against PostgreSQL: a batch's SMTP conversations overlap, and every mail of
it ends sent, retried or refused as its own conversation went."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.crypto import Keyring, key_spec
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.worker import PollingWorker
from anbefal.devstack.testing import statements_run, wait_until
from anbefal.notify.email import repository as email_repository
from anbefal.notify.email.sender import PermanentFailure
from anbefal.notify.email.worker import EmailWorker
from anbefal.notify.models import Email
from anbefal.notify.unsubscribe import repository as suppressions

pytestmark = pytest.mark.integration

KEYRING = Keyring.parse(key_spec("k1", b"k" * 32))
AT = datetime(2026, 12, 1, 9, 17, tzinfo=UTC)


def mail(tenant: str, recipient: str) -> Email:
    return Email(
        id=uuid.uuid4(), action_id=uuid.uuid4(), tenant=tenant, template="thank_you",
        message_id=f"<{uuid.uuid4()}@x>", sender="acme@example.com", recipient=recipient,
        subject="Tak", body="Tak for dit svar", status="pending", attempts=0,
        next_attempt_at=AT,
    )  # fmt: skip


class Relay:
    """An SMTP relay that answers nobody until `expected` conversations are open at once (or a
    while has passed), then refuses or fails the addresses it was told to."""

    def __init__(self, expected: int, refuse: Collection[str], fail: Collection[str]) -> None:
        self.expected, self.refuse, self.fail = expected, refuse, fail
        self.open = 0
        self.most_open = 0
        self._all_open = asyncio.Event()

    async def send(self, message: EmailMessage) -> None:
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        if self.open == self.expected:
            self._all_open.set()
        try:
            await asyncio.wait_for(self._all_open.wait(), 2)
        except TimeoutError:
            pass
        finally:
            self.open -= 1
        if message["To"] in self.refuse:
            raise PermanentFailure("550 no such user")
        if message["To"] in self.fail:
            raise ConnectionError("the relay hung up")

    async def aclose(self) -> None:
        """Nothing is kept open."""


async def test_a_batchs_mails_are_sent_at_once_and_each_ends_as_its_send_went(
    stack: Any,
) -> None:
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    tenant = f"mail-{uuid.uuid4().hex[:8]}"
    addresses = [f"p{n}@x.example" for n in range(5)]
    relay = Relay(len(addresses), refuse={addresses[3]}, fail={addresses[4]})
    worker = EmailWorker(
        db, relay, poll_s=60, max_attempts=3, max_per_recipient_per_day=5,
        keyring=lambda: KEYRING,
    )  # fmt: skip
    try:
        async with db() as session, session.begin():
            session.add_all([mail(tenant, a) for a in addresses])
        assert await worker.worker.run_once() == len(addresses)
        async with db() as session:
            rows = {
                e.recipient: e
                for e in await session.scalars(select(Email).where(Email.tenant == tenant))
            }
    finally:
        await engine.dispose()

    assert relay.most_open == len(addresses)
    assert [rows[a].status for a in addresses] == ["sent", "sent", "sent", "failed", "pending"]
    assert [rows[a].attempts for a in addresses] == [1, 1, 1, 1, 1]
    assert rows[addresses[0]].sent_at is not None
    assert rows[addresses[4]].last_error == "ConnectionError('the relay hung up')"


def respondent_mail(tenant: str, recipient: str | None) -> Email:
    row = mail(tenant, recipient or "")
    row.recipient = recipient
    row.unsubscribe_url = "https://notify.example/u/x"  # respondent mail: capped per day
    return row


async def step(stack: Any, kinds: int) -> tuple[list[str], dict[str, list[str]]]:
    """One worker step over `kinds` mails of each kind (sent, refused, failed, unsubscribed,
    over the daily cap, without an address): its statements, and each kind's statuses."""
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    tenant = f"mail-{uuid.uuid4().hex[:8]}"
    refused = [f"r{n}@x.example" for n in range(kinds)]
    failed = [f"f{n}@x.example" for n in range(kinds)]
    relay = Relay(3 * kinds, refuse=set(refused), fail=set(failed))
    worker = EmailWorker(
        db, relay, poll_s=60, max_attempts=3, max_per_recipient_per_day=1,
        keyring=lambda: KEYRING, batch=6 * kinds,
    )  # fmt: skip
    addresses: dict[str, list[str | None]] = {
        "sent": [f"s{n}@x.example" for n in range(kinds)],
        "refused": refused,
        "failed": failed,
        "unsubscribed": [f"u{n}@x.example" for n in range(kinds)],
        "capped": [f"c{n}@x.example" for n in range(kinds)],
        "no address": [None] * kinds,
    }
    rows = {kind: [respondent_mail(tenant, a) for a in found] for kind, found in addresses.items()}
    try:
        async with db() as session, session.begin():
            session.add_all([m for found in rows.values() for m in found])
            for address in addresses["unsubscribed"]:
                await suppressions.suppress(session, tenant, address, "unsubscribed")
            for address in addresses["capped"]:  # each had its one mail today
                sent = respondent_mail(tenant, address.upper())
                sent.status, sent.sent_at = "sent", datetime.now(UTC)
                session.add(sent)
        with statements_run(engine) as seen:
            assert await worker.worker.run_once() == 6 * kinds
        async with db() as session:
            status = dict(
                (
                    await session.execute(
                        select(Email.id, Email.status).where(Email.tenant == tenant)
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    return seen, {kind: [status[m.id] for m in found] for kind, found in rows.items()}


async def test_a_step_costs_the_same_statements_whatever_its_mails_hold(stack: Any) -> None:
    small, small_statuses = await step(stack, 1)
    large, large_statuses = await step(stack, 4)
    expected = {
        "sent": "sent", "refused": "failed", "failed": "pending", "unsubscribed": "suppressed",
        "capped": "skipped", "no address": "failed",
    }  # fmt: skip
    for statuses, kinds in ((small_statuses, 1), (large_statuses, 4)):
        assert statuses == {kind: [s] * kinds for kind, s in expected.items()}
    assert len(large) == len(small), (len(small), len(large))


class Flaky:
    """A relay that fails each address's first conversation and takes the next."""

    def __init__(self) -> None:
        self.tried: list[str] = []

    async def send(self, message: EmailMessage) -> None:
        first = message["To"] not in self.tried
        self.tried.append(message["To"])
        if first:
            raise ConnectionError("the relay hung up")

    async def aclose(self) -> None:
        """Nothing is kept open."""


async def test_a_mail_that_failed_for_now_is_retried_when_its_backoff_ends(stack: Any) -> None:
    """The worker wakes itself for a retry: the poll interval (an hour here) only bounds what
    another copy wrote."""
    engine = create_engine(stack.new_database(), pool_size=2)
    db = create_sessionmaker(engine)
    tenant = f"mail-{uuid.uuid4().hex[:8]}"
    relay = Flaky()
    worker = EmailWorker(
        db, relay, poll_s=3600, max_attempts=3, max_per_recipient_per_day=5,
        keyring=lambda: KEYRING,
    )  # fmt: skip

    async def status() -> str:
        async with db() as session:
            found = await session.scalar(select(Email.status).where(Email.tenant == tenant))
        return found or ""

    async def sent() -> bool:
        return await status() == "sent"

    stop = asyncio.Event()
    task = asyncio.create_task(worker.worker.run(stop))
    try:
        async with db() as session, session.begin():
            row = mail(tenant, "ida@x.example")
            row.next_attempt_at = datetime.now(UTC)
            session.add(row)
        worker.worker.wake()
        await wait_until(sent, 15, "the retry after the first attempt's backoff (2 s)")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await engine.dispose()
    assert relay.tried == ["ida@x.example", "ida@x.example"]


class CountedWakes(PollingWorker):
    """A sender on the mail channel that counts the wakes a commit gave it."""

    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        super().__init__("counted", db, self.look, poll_s=3600, wakes_on=email_repository.SENDER)
        self.wakes = 0
        self.steps = 0

    async def look(self, session: AsyncSession) -> int:
        self.steps += 1
        return 0

    def wake(self) -> None:
        self.wakes += 1
        super().wake()


async def test_mail_that_ended_when_it_was_written_does_not_wake_the_sender(
    stack: Any,
) -> None:
    """A thank-you with no address or a cancelled action's mail is written failed or cancelled:
    nothing for the sender to claim, so its commit wakes no sender (a step that finds nothing
    is a transaction per consumer batch). Pending mail still wakes it at once."""
    engine = create_engine(stack.new_database(), pool_size=2)
    db = create_sessionmaker(engine)
    tenant = f"mail-{uuid.uuid4().hex[:8]}"
    worker = CountedWakes(db)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))

    async def looked() -> bool:
        return worker.steps > 0

    def row(status: str | None) -> dict[str, Any]:
        r = {c: getattr(mail(tenant, "ida@x.example"), c) for c in ("action_id", "tenant",
             "template", "message_id", "sender", "recipient", "subject", "body")}  # fmt: skip
        return r | ({"status": status, "last_error": "ended"} if status else {})

    try:
        await wait_until(looked, 15, "the sender's first look")
        async with db() as session, session.begin():
            await email_repository.insert_emails(session, [row("failed"), row("cancelled")])
        assert worker.wakes == 0
        async with db() as session, session.begin():
            await email_repository.insert_emails(session, [row("failed"), row(None)])
        assert worker.wakes == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await engine.dispose()
