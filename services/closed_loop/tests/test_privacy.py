"""closed_loop's part of an erasure and an export, against PostgreSQL: answers, actions and the
action events in its outbox lose the person; scores, rules and states stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from anbefal.closed_loop.models import OUTBOX, ActionRow, AnswerRow
from anbefal.closed_loop.privacy import erasure, export
from anbefal.common import topics
from anbefal.common.contact import seal_events
from anbefal.common.crypto import Keyring, key_spec
from anbefal.common.datakeys import DataKeys
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.erasure import Subject
from anbefal.common.events import Respondent, Source, SurveyResponse
from anbefal.common.outbox import OutboxEvent, enqueue

pytestmark = pytest.mark.integration
KEYRING = Keyring.parse(key_spec("k1", b"k" * 32))
AT = datetime(2026, 12, 1, 9, 17, tzinfo=UTC)


def person(key: str, name: str) -> dict[str, Any]:
    return {"key": key, "name": name, "email": f"{name.lower()}@example.com", "phone": "555"}


async def test_erased_rows_lose_the_person_and_keep_the_rest(stack: Any) -> None:
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    rows: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}
    try:
        async with db() as session, session.begin():
            for key, name in (("c-42", "Ida"), ("c-7", "Bo")):
                event_id, action_id = uuid.uuid4(), uuid.uuid4()
                rows[name] = (event_id, action_id)
                response = {"score": 3, "comment": f"{name} here", "respondent": person(key, name)}
                action = {
                    "action_id": str(action_id), "score": 3, "comment": f"{name} here",
                    "respondent": person(key, name), "attached": [{"comment": f"{name} again"}],
                }  # fmt: skip
                session.add(
                    AnswerRow(
                        event_id=event_id,
                        tenant="acme",
                        version=1,
                        answered_at=AT,
                        response=response,
                    )
                )
                session.add(
                    ActionRow(
                        action_id=action_id, tenant="acme", response_event_id=event_id,
                        rule_id="detractor-call", type="call_task", respondent_key=key,
                        answered_at=AT, revision=1, released_revision=1, cancelled=False,
                        payload=action,
                    )
                )  # fmt: skip
                event = OutboxEvent(
                    uuid.uuid4(), "acme", f"acme:{event_id}".encode(), orjson.dumps(action)
                )
                await enqueue(session, OUTBOX, topics.ACTIONS, [event])
        ida = Subject(respondent_id="c-42")

        async with db() as session, session.begin():
            part = await export.collect(session, "acme", ida, KEYRING)
            assert [a["response"]["respondent"]["name"] for a in part["answers"]] == ["Ida"]
            assert [a["respondent_key"] for a in part["actions"]] == ["c-42"]
            assert await erasure.erase(session, "acme", ida, KEYRING) == 3

        async with db() as session, session.begin():
            event_id, action_id = rows["Ida"]
            answer = await session.get(AnswerRow, event_id)
            action = await session.get(ActionRow, action_id)
            assert answer is not None
            assert action is not None
            erased = {"key": f"erased:{event_id}", "locale": None}
            assert answer.response == {"score": 3, "comment": None, "respondent": erased}
            assert action.respondent_key == f"erased:{action_id}"
            assert (action.rule_id, action.type, action.payload["score"]) == (
                "detractor-call",
                "call_task",
                3,
            )
            payloads = [
                orjson.loads(p)
                for p in await session.scalars(
                    select(OUTBOX.c.payload).order_by(OUTBOX.c.created_at)
                )
            ]
            text = orjson.dumps([answer.response, action.payload, payloads]).decode()
            assert "Ida" not in text
            assert "ida@example.com" not in text
            assert "Bo" in text  # the other person is untouched
            assert await erasure.erase(session, "acme", ida, KEYRING) == 0
    finally:
        await engine.dispose()


async def test_an_erasure_by_email_finds_sealed_answers_and_shreds_their_key(stack: Any) -> None:
    """Answers reach closed_loop with the contact data sealed: the email's keyed hash beside
    the seal is what an erasure by email finds them by; their respondent's key is shredded."""
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    keys = DataKeys(KEYRING)
    plain = Respondent(key="response:r-9", name="Ida", email="ida@example.com")
    try:
        async with db() as session, session.begin():
            (sealed,) = await seal_events(session, keys, [answer_event(plain)])
            assert sealed.respondent.email is None
            session.add(
                AnswerRow(
                    event_id=sealed.event_id, tenant="acme", version=1, answered_at=AT,
                    response=sealed.model_dump(mode="json"),
                )
            )  # fmt: skip
        async with db() as session, session.begin():
            subject = Subject(email="IDA@example.com")
            assert await erasure.erase(session, "acme", subject, KEYRING) == 2  # answer, key
            assert await keys.find(session, {("acme", "response:r-9")}) == {}
            stored = await session.get(AnswerRow, sealed.event_id)
            assert stored is not None
            assert stored.response["respondent"] == {
                "key": f"erased:{sealed.event_id}", "locale": None
            }  # fmt: skip
    finally:
        await engine.dispose()


def answer_event(respondent: Respondent) -> SurveyResponse:
    return SurveyResponse(
        event_id=uuid.uuid4(), version=1, tenant="acme", kind="nps", score=3, answered_at=AT,
        received_at=AT, source=Source(tool="api", response_id="r-9"), respondent=respondent,
    )  # fmt: skip
