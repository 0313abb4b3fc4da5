"""What scoring erases of a person: the link from their NPS answers to them, and what the
answers API shows of them.

An answer keeps its score, day and segments, so every figure stays as it was; it loses the keyed
hashes that found it, its comment, the respondent's key and name, and the time of day it was
given (`answered_at` becomes the start of its UTC day: no figure reads the time). The event id
stays: it is what dedupe needs, a hash of the tenant, the tool and the tool's response id, and
names nobody.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.crypto import Keyring
from anbefal.common.erasure import (
    Subject,
    identity_hash,
    identity_hashes,
    normalise_email,
)
from anbefal.common.events import SurveyResponse
from anbefal.scoring.models import Answer
from anbefal.scoring.repository import Identities


def identities(keyring: Keyring, answers: Sequence[SurveyResponse]) -> Identities:
    """The hashes each NPS answer stores; eNPS answers store none."""
    out: dict[uuid.UUID, tuple[str | None, str | None]] = {}
    for a in answers:
        if a.kind != "nps":
            continue
        email = a.respondent.email
        # A sealed respondent carries its email's keyed hash; an older, plaintext one its email.
        email_hash = a.respondent.email_hash
        if email:
            email_hash = identity_hash(keyring, a.tenant, "email", normalise_email(email))
        out[a.event_id] = (
            identity_hash(keyring, a.tenant, "respondent", a.respondent.key),
            email_hash,
        )
    return out


def naming(keyring: Keyring, tenant: str, subject: Subject) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if subject.respondent_id:
        hashes = identity_hashes(keyring, tenant, "respondent", subject.respondent_id)
        conditions.append(Answer.respondent_hash.in_(hashes))
    if subject.email:
        conditions.append(
            Answer.email_hash.in_(identity_hashes(keyring, tenant, "email", subject.email))
        )
    return (Answer.tenant == tenant) & or_(false(), *conditions)


async def erase(session: AsyncSession, tenant: str, subject: Subject, keyring: Keyring) -> int:
    """scoring's anonymiser (common/erasure.py): the answers it unlinked."""
    ids = list(
        await session.scalars(select(Answer.event_id).where(naming(keyring, tenant, subject)))
    )
    await unlink(session, ids)
    return len(ids)


async def unlink(session: AsyncSession, ids: Sequence[uuid.UUID]) -> None:
    """The answers without what links them to a person or may name one (erasure and
    retention). The account stays: it names a company, and no person."""
    if ids:
        await session.execute(
            update(Answer)
            .where(Answer.event_id.in_(ids))
            .values(
                respondent_hash=None,
                email_hash=None,
                comment=None,
                respondent_key=None,
                respondent_name=None,
                answered_at=func.date_trunc("day", Answer.answered_at),
            )
        )
