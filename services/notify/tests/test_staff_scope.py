"""Team leads: a staff user's scope is stored with the user, carried in their session's
principal, and a change of scope ends their sessions (as a change of role does)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.auth import Role, parse_scope
from anbefal.common.events import Actor
from anbefal.notify.staff import repository, sessions
from anbefal.notify.staff.service import LOGIN_ROLES, add_user

pytestmark = pytest.mark.integration
CLI = Actor(sub="olga", role="cli")
PASSWORD = "correct horse battery"


async def save(db: async_sessionmaker[AsyncSession], scope: str, role: str = "viewer") -> None:
    async with db() as session, session.begin():
        await add_user(
            session, tenant="acme", email="Lead@Acme.example", name="Lea", role=role,
            password=PASSWORD, actor=CLI, scope=parse_scope(scope),
        )  # fmt: skip


async def log_in(db: async_sessionmaker[AsyncSession]) -> str:
    async with db() as session, session.begin():
        user = await repository.user(session, "acme", "lead@acme.example")
        assert user is not None
        return await sessions.start(session, user, hours=1)


async def principal_of(db: async_sessionmaker[AsyncSession], token: str) -> object:
    async with db() as session, session.begin():
        login = await sessions.current(session, token)
        return None if login is None else login.principal


async def test_a_team_leads_scope_is_in_their_sessions_principal(
    db: async_sessionmaker[AsyncSession],
) -> None:
    assert "viewer" in LOGIN_ROLES  # viewers log in to read the dashboard
    await save(db, "team=Alpha,country=DK")
    token = await log_in(db)
    principal = await principal_of(db, token)
    assert principal is not None
    assert principal.role == Role.VIEWER  # type: ignore[attr-defined]
    assert principal.scope == (("country", "DK"), ("team", "Alpha"))  # type: ignore[attr-defined]


async def test_a_changed_scope_ends_the_users_sessions(
    db: async_sessionmaker[AsyncSession],
) -> None:
    await save(db, "team=Alpha", role="director")
    token = await log_in(db)
    assert await principal_of(db, token) is not None
    await save(db, "team=Beta", role="director")
    assert await principal_of(db, token) is None
    # A session of the new scope carries it.
    principal = await principal_of(db, await log_in(db))
    assert principal.scope == (("team", "Beta"),)  # type: ignore[attr-defined]
    # An unscoped user is the whole tenant.
    await save(db, "", role="director")
    principal = await principal_of(db, await log_in(db))
    assert principal.scope == ()  # type: ignore[attr-defined]


async def test_a_session_whose_stored_scope_no_longer_matches_counts_for_nothing(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """Even a scope changed without `add_user` (another path to the table) ends the session."""
    from sqlalchemy import update

    from anbefal.notify.models import StaffUser

    await save(db, "team=Alpha")
    token = await log_in(db)
    async with db() as session, session.begin():
        await session.execute(update(StaffUser).values(scope={"team": "Beta"}))
    assert await principal_of(db, token) is None


async def test_a_session_names_no_zone_when_neither_user_nor_tenant_has_one(
    db: async_sessionmaker[AsyncSession],
) -> None:
    """Before notify has heard of the tenant, the page falls back to the deployment's zone
    (`ANBEFAL_DEFAULT_TIME_ZONE`), not to UTC: the session must not pretend to know one."""
    await save(db, "", role="director")
    token = await log_in(db)
    async with db() as session, session.begin():
        login = await sessions.current(session, token)
    assert login is not None
    assert login.time_zone is None
