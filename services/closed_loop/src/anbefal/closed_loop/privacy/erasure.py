"""What closed_loop erases of a person: their identity in the answers it keeps, in the actions
it decided and in the action events of its outbox (published or not, so the relay never sends
the person again).

An answer or action keeps its scores, times, segments, rule and state: the rules dry run and the
action model read the same book as before, only the respondent is a key of its own per row
(`erased:<id>`), so an erased person's rows no longer link to each other or to a later answer.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import ColumnElement, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.closed_loop.models import OUTBOX, ActionRow, AnswerRow
from anbefal.common import topics
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import shred
from anbefal.common.erasure import Subject, erased_key, identity_hashes, scrubbed


def _naming(
    document: Any, keyring: Keyring, tenant: str, subject: Subject, key: Any = None
) -> ColumnElement[bool]:
    respondent = document["respondent"]
    conditions: list[ColumnElement[bool]] = []
    if subject.respondent_id:
        stored_key = key if key is not None else respondent["key"].astext
        conditions.append(stored_key == subject.respondent_id)
    if subject.email:
        # Plaintext in answers from before sealing; the keyed hash beside the seal since.
        hashes = identity_hashes(keyring, tenant, "email", subject.email)
        conditions.append(func.lower(respondent["email"].astext) == subject.email)
        conditions.append(respondent["email_hash"].astext.in_(hashes))
    return or_(false(), *conditions)


def answers_naming(keyring: Keyring, tenant: str, subject: Subject) -> ColumnElement[bool]:
    return (AnswerRow.tenant == tenant) & _naming(AnswerRow.response, keyring, tenant, subject)


def actions_naming(keyring: Keyring, tenant: str, subject: Subject) -> ColumnElement[bool]:
    return (ActionRow.tenant == tenant) & _naming(
        ActionRow.payload, keyring, tenant, subject, ActionRow.respondent_key
    )


def erase_answer(answer: AnswerRow) -> None:
    """The answer without its respondent's identity (erasure and retention)."""
    answer.response = scrubbed(answer.response, erased_key(answer.event_id))


def erase_action(action: ActionRow) -> None:
    """The action without its respondent's identity (erasure and retention)."""
    key = erased_key(action.action_id)
    action.respondent_key = key
    action.payload = scrubbed(action.payload, key)


async def erase(session: AsyncSession, tenant: str, subject: Subject, keyring: Keyring) -> int:
    """closed_loop's anonymiser (common/erasure.py): the rows it changed, the data keys of the
    respondents it found included (an erasure by email learns their keys only here)."""
    changed = 0
    responses: set[uuid.UUID] = set()
    respondents: set[str] = set()
    answers = await session.scalars(
        select(AnswerRow).where(answers_naming(keyring, tenant, subject)).with_for_update()
    )
    for answer in answers:
        respondents.add(answer.response["respondent"]["key"])
        erase_answer(answer)
        responses.add(answer.event_id)
        changed += 1
    actions = await session.scalars(
        select(ActionRow).where(actions_naming(keyring, tenant, subject)).with_for_update()
    )
    for action in actions:
        respondents.add(action.respondent_key)
        erase_action(action)
        responses.add(action.response_event_id)
        changed += 1
    await session.flush()
    for respondent in respondents:
        changed += await shred(session, tenant, respondent)
    return changed + await _scrub_outbox(session, tenant, responses)


async def _scrub_outbox(session: AsyncSession, tenant: str, responses: set[uuid.UUID]) -> int:
    """The action events of these answers in the outbox (keyed `tenant:response`)."""
    if not responses:
        return 0
    keys = [f"{tenant}:{r}".encode() for r in responses]
    rows = (
        await session.execute(
            select(OUTBOX.c.id, OUTBOX.c.payload)
            .where(OUTBOX.c.topic == topics.ACTIONS, OUTBOX.c.key.in_(keys))
            .with_for_update()
        )
    ).all()
    for row in rows:
        payload = orjson.loads(row.payload)
        clean = scrubbed(payload, erased_key(payload.get("action_id", row.id)))
        await session.execute(
            update(OUTBOX).where(OUTBOX.c.id == row.id).values(payload=orjson.dumps(clean))
        )
    return len(rows)
