"""The reason codes' SQL: one row per tenant that has its own."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import func

from anbefal.notify.models import OutcomeReasons
from anbefal.notify.reasons.model import DEFAULTS, Reasons


async def load(session: AsyncSession, tenant: str) -> Reasons:
    """The tenant's reason codes, the defaults until it sets its own."""
    stored = await session.scalar(
        select(OutcomeReasons.reasons).where(OutcomeReasons.tenant == tenant)
    )
    return DEFAULTS if stored is None else Reasons.model_validate({"reasons": stored})


async def save(session: AsyncSession, tenant: str, reasons: Reasons, by: str) -> None:
    rows = reasons.model_dump(mode="json")["reasons"]
    query = insert(OutcomeReasons).values(tenant=tenant, reasons=rows, updated_by=by)
    await session.execute(
        query.on_conflict_do_update(
            index_elements=[OutcomeReasons.tenant],
            set_={"reasons": rows, "updated_by": by, "updated_at": func.now()},
        )
    )
