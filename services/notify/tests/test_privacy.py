"""notify's part of an erasure and an export, against PostgreSQL: tasks, notes, mail, chat
posts and the suppression list lose the person; an unsubscribed address stays suppressed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from anbefal.common.crypto import Keyring, key_spec
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.erasure import Subject
from anbefal.notify.email.compose import task_mail_key
from anbefal.notify.models import ChatMessage, Email, Suppression, Task, TaskNote
from anbefal.notify.privacy import erasure, export
from anbefal.notify.unsubscribe import repository as unsubscribe

pytestmark = pytest.mark.integration
KEYRING = Keyring.parse(key_spec("k1", b"k" * 32))
AT = datetime(2026, 12, 1, 9, 17, tzinfo=UTC)


def task(key: str, name: str) -> Task:
    return Task(
        id=uuid.uuid4(), action_id=uuid.uuid4(), tenant="acme", type="call_task",
        rule_id="detractor-call", status="done", assignee="boss@acme.example",
        assignee_role="director", priority=0, response_event_id=uuid.uuid4(), kind="nps",
        score=3, comment=f"{name} here", answered_at=AT, segments={"department": "Support"},
        respondent={"key": key, "name": name, "email": f"{name.lower()}@x.example", "phone": "5"},
        attached=[{"score": 2, "comment": f"{name} again"}], outcome="reached",
    )  # fmt: skip


def mail(
    tenant: str, recipient: str | None, key: str | None, name: str = "Ida", **fields: Any
) -> Email:
    return Email(
        id=uuid.uuid4(), action_id=fields.pop("action_id", uuid.uuid4()), tenant=tenant,
        template="thank_you", message_id="<m@x>", sender="acme@example.com",
        recipient=recipient, subject=f"Tak, {name}", body=f"Kære {name}", respondent_key=key,
        unsubscribe_url="https://x/unsubscribe/t", status=fields.pop("status", "sent"),
        attempts=0, next_attempt_at=AT,
    )  # fmt: skip


async def test_erased_rows_lose_the_person_and_the_address_stays_suppressed(stack: Any) -> None:
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    ida, bo = task("c-42", "Ida"), task("c-7", "Bo")
    notice = task_mail_key(ida.id, "assignment")
    try:
        async with db() as session, session.begin():
            session.add_all([ida, bo])
            await session.flush()
            session.add_all(
                [
                    TaskNote(task_id=ida.id, tenant="acme", author="agent", body="Ida said..."),
                    TaskNote(task_id=bo.id, tenant="acme", author="agent", body="Bo said..."),
                    mail("acme", "ida@x.example", "c-42"),  # her thank-you
                    mail("acme", "Ida@X.example", None, status="pending"),  # no key: by address
                    mail("acme", "boss@acme.example", None, action_id=notice),  # about her task
                    mail("acme", "bo@x.example", "c-7", name="Bo"),
                    mail("other", "ida@x.example", "c-42"),  # another tenant's
                    ChatMessage(
                        id=uuid.uuid4(),
                        tenant="acme",
                        task_id=ida.id,
                        url="https://hooks/x",
                        payload={"text": "Ida gave 3"},
                        status="pending",
                        attempts=0,
                        next_attempt_at=AT,
                    ),  # fmt: skip
                    Suppression(tenant="acme", email="ida@x.example", reason="unsubscribed"),
                    Suppression(tenant="acme", email="bo@x.example", reason="unsubscribed"),
                ]
            )
        subject = Subject(respondent_id="c-42")  # her address is found through her task

        async with db() as session, session.begin():
            part = await export.collect(session, "acme", subject, KEYRING)
            assert [t["respondent"]["name"] for t in part["tasks"]] == ["Ida"]
            assert len(part["task_notes"]) == 1
            assert len(part["emails"]) == 3  # her thank-you, a mail to her address, the notice
            # task, note, three mails, chat post, suppression
            assert await erasure.erase(session, "acme", subject, KEYRING) == 7

        async with db() as session, session.begin():
            erased = await session.get(Task, ida.id)
            assert erased is not None
            assert erased.respondent == {"key": f"erased:{ida.id}", "locale": None}
            assert (erased.comment, erased.attached) == (None, [{"score": 2, "comment": None}])
            assert (erased.score, erased.status, erased.outcome) == (3, "done", "reached")
            acme = list(await session.scalars(select(Email).where(Email.tenant == "acme")))
            text = " ".join(f"{e.recipient} {e.subject} {e.body} {e.unsubscribe_url}" for e in acme)
            assert "ida" not in text.lower()
            assert "boss@acme.example" in text  # a staff address stays
            assert "bo@x.example" in text  # the other person is untouched
            cancelled = [e for e in acme if e.status == "cancelled"]
            assert len(cancelled) == 1  # the one not yet sent
            other = await session.scalar(select(Email).where(Email.tenant == "other"))
            assert other is not None
            assert other.recipient == "ida@x.example"  # another tenant's erasure, not this
            notes = sorted(n.body for n in await session.scalars(select(TaskNote)))
            assert notes == ["Bo said...", "[erased]"]
            post = await session.scalar(select(ChatMessage))
            assert post is not None
            assert (post.payload, post.status) == ({"text": "[erased]"}, "cancelled")
            addresses = set(await session.scalars(select(Suppression.email)))
            assert "ida@x.example" not in addresses
            assert "bo@x.example" in addresses
            later = mail("acme", "IDA@x.example", None)
            still = await unsubscribe.suppressed(session, [later], KEYRING)
            assert still == {("acme", "ida@x.example")}
            assert await erasure.erase(session, "acme", subject, KEYRING) == 0
    finally:
        await engine.dispose()
