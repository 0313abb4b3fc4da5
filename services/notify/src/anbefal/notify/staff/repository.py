"""Staff accounts' SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.notify import repository
from anbefal.notify.models import StaffUser


async def upsert_user(session: AsyncSession, row: dict[str, Any]) -> None:
    """Create a user, or update the name, role, locale and password of an existing one."""
    stmt = insert(StaffUser).values(row)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[StaffUser.tenant, StaffUser.email],
            set_={c: stmt.excluded[c] for c in ("name", "role", "locale", "password_hash")},
        )
    )


async def user(session: AsyncSession, tenant: str, email: str) -> StaffUser | None:
    result: StaffUser | None = await session.scalar(
        select(StaffUser).where(StaffUser.tenant == tenant, StaffUser.email == email)
    )
    return result


async def staff_addresses(
    session: AsyncSession, pairs: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (tenant, lower-cased address) pairs belong to staff with a login for that tenant."""
    return await repository.present(session, StaffUser, pairs)
