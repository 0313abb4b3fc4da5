"""What scoring forgets, and when: an NPS answer keeps the keyed hashes that find it by its
respondent's id and address, its comment and its respondent's key and name for the tenant's
`answers_retention_days`; then it is unlinked as an erasure unlinks it (score, day and segments
stay, so no figure moves). An eNPS answer holds no link to a person, but its comment may name one,
so the comment goes at the same age (common/retention.py runs this daily)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.retention import Anonymiser, Expiry
from anbefal.scoring.models import Answer, Tenant
from anbefal.scoring.privacy.erasure import unlink


async def unlink_answers(session: AsyncSession, answers: Sequence[Answer]) -> None:
    await unlink(session, [a.event_id for a in answers])


ANSWERS = Expiry(
    Answer, Tenant, "answers_retention_days", Answer.answered_at,
    (or_(Answer.respondent_hash.is_not(None), Answer.email_hash.is_not(None),
         Answer.comment.is_not(None), Answer.respondent_key.is_not(None),
         Answer.respondent_name.is_not(None)),),
    unlink_answers,
)  # fmt: skip


def anonymisers() -> Mapping[str, Anonymiser]:
    return {"answers": ANSWERS}
