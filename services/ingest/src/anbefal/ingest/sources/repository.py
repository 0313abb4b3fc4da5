"""The sources' SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.ingest.models import SourceRow
from anbefal.ingest.sources.config import Source


async def upsert_source(
    session: AsyncSession,
    *,
    tenant: str,
    name: str,
    tool: str,
    config: dict[str, Any],
    secret: str,
    api_token: str | None,
    by: str,
) -> None:
    values = {
        "tool": tool,
        "config": config,
        "secret": secret,
        "api_token": api_token,
        "updated_by": by,
        "updated_at": datetime.now(UTC),
    }
    await session.execute(
        insert(SourceRow)
        .values(tenant=tenant, name=name, **values)
        .on_conflict_do_update(index_elements=["tenant", "name"], set_=values)
    )


async def get_source(session: AsyncSession, tenant: str, name: str) -> SourceRow | None:
    return await session.get(SourceRow, (tenant, name))


async def list_sources(session: AsyncSession, tenant: str) -> list[SourceRow]:
    rows = await session.scalars(
        select(SourceRow).where(SourceRow.tenant == tenant).order_by(SourceRow.name)
    )
    return list(rows)


async def delete_source(session: AsyncSession, tenant: str, name: str) -> bool:
    result = await session.execute(
        delete(SourceRow).where(SourceRow.tenant == tenant, SourceRow.name == name)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def load(session: AsyncSession, tenant: str, name: str) -> Source | None:
    """The source as the adapters use it (secrets included), or None if there is none."""
    row = await get_source(session, tenant, name)
    if row is None:
        return None
    return Source.from_row(tenant, name, row.config, row.secret, row.api_token)
