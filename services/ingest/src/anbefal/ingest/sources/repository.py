"""The sources' SQL. Secrets are sealed on the way in and opened on the way out (`sealing.py`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.crypto import Keyring
from anbefal.ingest.models import SourceRow
from anbefal.ingest.sources.config import Source
from anbefal.ingest.sources.sealing import open_source_secret, seal_source_secret


async def upsert_source(
    session: AsyncSession,
    keyring: Keyring,
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
        "secret_sealed": seal_source_secret(keyring, tenant, name, "secret", secret),
        "api_token_sealed": None
        if api_token is None
        else seal_source_secret(keyring, tenant, name, "api_token", api_token),
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


def opened(keyring: Keyring, row: SourceRow) -> Source:
    """The row as the adapters use it, its secrets opened."""
    token = row.api_token_sealed
    return Source.from_row(
        row.tenant,
        row.name,
        row.config,
        open_source_secret(keyring, row.tenant, row.name, "secret", row.secret_sealed),
        None
        if token is None
        else open_source_secret(keyring, row.tenant, row.name, "api_token", token),
    )


async def load(session: AsyncSession, keyring: Keyring, tenant: str, name: str) -> Source | None:
    """The source as the adapters use it (secrets included), or None if there is none."""
    row = await get_source(session, tenant, name)
    return None if row is None else opened(keyring, row)


async def reseal(session: AsyncSession, keyring: Keyring) -> int:
    """Seal again, with the current key, every source sealed with an older one (after a key
    rotation: once none is left, the old key can be dropped from ANBEFAL_DATA_KEYS)."""
    prefix = f"{keyring.current}."
    rows = await session.scalars(
        select(SourceRow)
        .where(SourceRow.secret_sealed.not_like(f"{prefix}%"))
        .limit(500)
        .with_for_update(skip_locked=True)
    )
    count = 0
    for row in rows:
        source = opened(keyring, row)
        row.secret_sealed = seal_source_secret(
            keyring, row.tenant, row.name, "secret", source.secret
        )
        if source.api_token is not None:
            row.api_token_sealed = seal_source_secret(
                keyring, row.tenant, row.name, "api_token", source.api_token
            )
        count += 1
    return count
