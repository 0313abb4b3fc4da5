"""What ingest erases of a person: the refused bodies that name them.

Dedupe keys (`seen_answers`) hold only an answer's event id and version, a hash of the tenant,
the tool and the tool's response id, which is what dedupe needs and names nobody; fetch jobs
hold the tool's ids of an answer still to be fetched. Neither is changed.

A refused body is deleted, not edited: it is kept only so ops can replay it, and a replay after
an erasure would bring the person back.
"""

from __future__ import annotations

import json

from sqlalchemy import ColumnElement, String, bindparam, cast, delete, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import shred
from anbefal.common.erasure import Subject
from anbefal.ingest.models import Rejected


def _searchable() -> ColumnElement[str]:
    # The body is bytes in whatever a tool sent; its ASCII is searchable as escaped text
    # (non-ASCII bytes become \ooo), lower-cased because addresses match case-insensitively.
    return func.lower(
        func.encode(Rejected.body, "escape")
        + cast(Rejected.details, String)
        + cast(Rejected.headers, String)
    )


def _needles(subject: Subject) -> list[str]:
    needles = []
    if subject.email:
        needles.append(subject.email)
    if subject.respondent_id:
        # As a JSON string: a bare id such as "42" would match inside unrelated bodies.
        needles.append(json.dumps(subject.respondent_id).lower())
    return needles


def naming(tenant: str, subject: Subject) -> ColumnElement[bool]:
    """Refused bodies of `tenant` that name the subject (its address anywhere, its respondent
    id as a JSON string)."""
    searchable = _searchable()
    escaped = [
        func.lower(func.encode(func.convert_to(bindparam(f"needle{i}", n), "UTF8"), "escape"))
        for i, n in enumerate(_needles(subject))
    ]
    return (Rejected.tenant == tenant) & or_(
        *(func.strpos(searchable, needle) > 0 for needle in escaped), literal(False)
    )


async def erase(session: AsyncSession, tenant: str, subject: Subject, keyring: Keyring) -> int:
    """ingest's anonymiser (common/erasure.py): the rows it changed. Anything else ingest keeps
    of a person that an erasure must destroy is deleted here, in the same transaction: their
    data key too (ingest mints them), so every sealed copy of their contact data on every topic
    stops opening (crypto-shredding, common/datakeys.py)."""
    ids = list(await session.scalars(select(Rejected.id).where(naming(tenant, subject))))
    if ids:
        await session.execute(delete(Rejected).where(Rejected.id.in_(ids)))
    shredded = await shred(session, tenant, subject.respondent_id) if subject.respondent_id else 0
    return len(ids) + shredded
