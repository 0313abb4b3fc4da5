"""Where a tenant's named themes are kept (`scoring.themes`, one row per tenant)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.scoring.models import TenantThemes
from anbefal.scoring.themes.catalogue import DEFAULT_THEMES, Theme


async def load(session: AsyncSession, tenant: str) -> tuple[tuple[Theme, ...], bool]:
    """The tenant's themes, and whether they are the built-in ones."""
    stored = await session.scalar(select(TenantThemes.themes).where(TenantThemes.tenant == tenant))
    if stored is None:
        return DEFAULT_THEMES, True
    themes = tuple(
        Theme(str(t["name"]), tuple(str(k) for k in t["keywords"]))  # type: ignore[attr-defined]
        for t in stored
    )
    return themes, False


async def save(session: AsyncSession, tenant: str, themes: list[Theme], by: str) -> None:
    values = [{"name": t.name, "keywords": list(t.keywords)} for t in themes]
    statement = insert(TenantThemes).values(tenant=tenant, themes=values, updated_by=by)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[TenantThemes.tenant],
            set_={"themes": statement.excluded.themes, "updated_by": by, "updated_at": func.now()},
        )
    )
