"""Staff accounts' and sessions' SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.notify.models import StaffSession, StaffUser


async def upsert_user(session: AsyncSession, row: dict[str, Any]) -> None:
    """Create a user, or update the name, role, scope, locale and password of an existing one
    (which makes a deactivated user active again)."""
    stmt = insert(StaffUser).values({**row, "active": True})
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[StaffUser.tenant, StaffUser.email],
            set_={
                c: stmt.excluded[c]
                for c in ("name", "role", "scope", "locale", "time_zone", "password_hash")
            }
            | {"active": True},
        )
    )


async def user(session: AsyncSession, tenant: str, email: str) -> StaffUser | None:
    result: StaffUser | None = await session.scalar(
        select(StaffUser).where(StaffUser.tenant == tenant, StaffUser.email == email)
    )
    return result


async def users(session: AsyncSession, tenant: str) -> list[StaffUser]:
    return list(
        await session.scalars(
            select(StaffUser).where(StaffUser.tenant == tenant).order_by(StaffUser.email)
        )
    )


async def set_role(
    session: AsyncSession, tenant: str, email: str, role: str, scope: dict[str, str]
) -> None:
    await session.execute(
        update(StaffUser)
        .where(StaffUser.tenant == tenant, StaffUser.email == email)
        .values(role=role, scope=scope)
    )


async def deactivate(session: AsyncSession, tenant: str, email: str) -> bool:
    """Mark a user inactive; False if there is no such user."""
    result = await session.execute(
        update(StaffUser)
        .where(StaffUser.tenant == tenant, StaffUser.email == email)
        .values(active=False)
        .returning(StaffUser.id)
    )
    return result.first() is not None


async def staff_addresses(
    session: AsyncSession, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], str | None]:
    """Which (tenant, lower-cased address) pairs belong to staff with a working login for that
    tenant (a deactivated user has none), each with the user's own time zone (None: none set)."""
    if not pairs:
        return {}
    rows = await session.execute(
        select(StaffUser.tenant, StaffUser.email, StaffUser.time_zone).where(
            tuple_(StaffUser.tenant, StaffUser.email).in_(pairs), StaffUser.active
        )
    )
    return {(t, e): zone for t, e, zone in rows}


async def add_session(session: AsyncSession, row: dict[str, Any], now: datetime) -> None:
    # Expired rows go as new ones come: the table holds about the sessions alive.
    await session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    await session.execute(insert(StaffSession).values(row))


async def live_session(
    session: AsyncSession, digest: str, now: datetime
) -> tuple[StaffSession, StaffUser] | None:
    """The session with this token digest, unexpired, whose user is still active in the
    session's role and scope."""
    row = (
        await session.execute(
            select(StaffSession, StaffUser)
            .join(
                StaffUser,
                (StaffUser.tenant == StaffSession.tenant) & (StaffUser.email == StaffSession.email),
            )
            .where(
                StaffSession.id == digest,
                StaffSession.expires_at > now,
                StaffUser.active.is_(True),
                StaffUser.role == StaffSession.role,
                StaffUser.scope == StaffSession.scope,
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def delete_session(session: AsyncSession, digest: str) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.id == digest))


async def delete_user_sessions(session: AsyncSession, tenant: str, email: str) -> None:
    await session.execute(
        delete(StaffSession).where(StaffSession.tenant == tenant, StaffSession.email == email)
    )
