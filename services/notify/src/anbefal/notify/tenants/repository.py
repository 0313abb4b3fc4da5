"""The tenant settings records' SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.events import TenantSettings
from anbefal.notify.models import TenantRecord


async def stored(
    session: AsyncSession, tenant: str, *, lock: bool = False
) -> TenantSettings | None:
    """The tenant's record (None: no settings yet). `lock`: its row locked until the
    transaction ends, for a change that merges into it; a read takes no lock."""
    query = select(TenantRecord).where(TenantRecord.tenant == tenant)
    row = await session.scalar(query.with_for_update() if lock else query)
    return None if row is None else TenantSettings.model_validate(row.settings)


async def save(session: AsyncSession, records: Sequence[TenantSettings]) -> None:
    """Keep each record unless the stored one is newer (an event read after a later update)."""
    for record in records:
        stmt = insert(TenantRecord).values(
            tenant=record.tenant,
            settings=record.model_dump(mode="json"),
            updated_at=record.updated_at,
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[TenantRecord.tenant],
                set_={"settings": stmt.excluded.settings, "updated_at": stmt.excluded.updated_at},
                where=TenantRecord.updated_at <= stmt.excluded.updated_at,
            )
        )
