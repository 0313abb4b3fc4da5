"""Staff sessions, kept server-side: the cookie holds a random token that means something only
while its row in `staff_sessions` lives. Logging out deletes the row; deactivating a user or
saving them (a new role, scope or password) deletes all of theirs.

The token is not a JWT and no other service accepts it: the other APIs take bearer tokens of
the API audience only (`common/auth.py`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal, Role, scope_of
from anbefal.notify import repository as notify_repository
from anbefal.notify.models import StaffUser
from anbefal.notify.staff import repository


@dataclass(frozen=True)
class Login:
    """A live staff session: who, and the token each of the session's forms carries."""

    principal: Principal
    csrf: str
    locale: str
    # The zone the user's pages show times in: their own, else their tenant's; None when
    # neither is known (the page then uses the deployment's default zone).
    time_zone: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start(session: AsyncSession, user: StaffUser, *, hours: float) -> str:
    """A new session for `user`; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = {
        "id": _digest(token),
        "tenant": user.tenant,
        "email": user.email,
        "role": user.role,
        "scope": user.scope,
        "csrf": secrets.token_urlsafe(32),
        "expires_at": now + timedelta(hours=hours),
    }
    await repository.add_session(session, row, now)
    return token


async def current(session: AsyncSession, token: str | None) -> Login | None:
    """The live session behind a cookie's token, or None (no cookie, logged out, expired, user
    deactivated or given another role or scope)."""
    if not token:
        return None
    found = await repository.live_session(session, _digest(token), datetime.now(UTC))
    if found is None:
        return None
    row, user = found
    principal = Principal(
        tenant=row.tenant, role=Role(row.role), sub=row.email, scope=scope_of(row.scope)
    )
    zone = user.time_zone
    if zone is None:
        tenants = await notify_repository.tenants(session, {row.tenant})
        zone = tenants[row.tenant].time_zone if row.tenant in tenants else None
    return Login(principal=principal, csrf=row.csrf, locale=user.locale, time_zone=zone)


async def end(session: AsyncSession, token: str | None) -> None:
    if token:
        await repository.delete_session(session, _digest(token))


async def end_all(session: AsyncSession, tenant: str, email: str) -> None:
    await repository.delete_user_sessions(session, tenant, email)
