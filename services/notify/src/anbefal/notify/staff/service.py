"""Staff accounts for the page: argon2 password hashes, nothing reversible; logins throttled and
checked off the event loop."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import audit
from anbefal.common.auth import Role, Scope
from anbefal.common.events import Actor
from anbefal.notify.models import OUTBOX, StaffUser
from anbefal.notify.staff import repository, sessions
from anbefal.notify.staff.passwords import DUMMY_HASH, Busy, PasswordChecker, hash_password
from anbefal.notify.staff.throttle import LoginThrottle
from anbefal.notify.tasks.lifecycle import STAFF

STAFF_ROLES: tuple[str, ...] = tuple(role.value for role in STAFF)
# Who may log in to the web app: the staff who work tasks, and viewers, who read the dashboard
# and the queue (without respondents' contact details).
LOGIN_ROLES: tuple[str, ...] = (*STAFF_ROLES, Role.VIEWER.value)


async def add_user(
    session: AsyncSession,
    *,
    tenant: str,
    email: str,
    name: str,
    role: str,
    password: str,
    actor: Actor,
    locale: str = "en",
    scope: Scope = (),
    time_zone: str | None = None,
) -> None:
    """Create a user, or update the name, role, scope and password of an existing one (and
    activate it); `actor` made the change (the audit trail records it). A team lead's `scope`
    limits everything they read to those segment values. The user's sessions end: whatever
    changed, they log in again under it."""
    if role not in LOGIN_ROLES:
        raise ValueError(f"role must be one of {', '.join(LOGIN_ROLES)}")
    if len(password) < 10:
        raise ValueError("the password needs at least 10 characters")
    email = email.strip().lower()
    row: dict[str, object] = {
        "tenant": tenant,
        "email": email,
        "name": name,
        "role": role,
        "locale": locale,
        "time_zone": time_zone,
        "scope": dict(scope),
        "password_hash": hash_password(password),
    }
    before = await repository.user(session, tenant, email)
    await repository.upsert_user(session, row)
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=actor,
        action="user.changed" if before else "user.added", target=f"user:{email}",
        detail={"role": {"from": before.role if before else None, "to": role},
                "name": {"from": before.name if before else None, "to": name},
                "scope": {"from": before.scope if before else None, "to": dict(scope)},
                "password_changed": True},
    )  # fmt: skip
    await sessions.end_all(session, tenant, email)


async def change_role(
    session: AsyncSession,
    *,
    tenant: str,
    email: str,
    role: str | None,
    scope: Scope | None,
    actor: Actor,
) -> StaffUser | None:
    """Give a user another role or scope (None: keep it); their sessions end, so they log in
    again under it. None if there is no such user."""
    email = email.strip().lower()
    before = await repository.user(session, tenant, email)
    if before is None:
        return None
    after_role = role or before.role
    if after_role not in LOGIN_ROLES:
        raise ValueError(f"role must be one of {', '.join(LOGIN_ROLES)}")
    after_scope = before.scope if scope is None else dict(scope)
    was = (before.role, dict(before.scope))
    await repository.set_role(session, tenant, email, after_role, after_scope)
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=actor, action="user.changed", target=f"user:{email}",
        detail={"role": {"from": was[0], "to": after_role},
                "scope": {"from": was[1], "to": after_scope}, "password_changed": False},
    )  # fmt: skip
    await sessions.end_all(session, tenant, email)
    await session.refresh(before)
    return before


async def deactivate_user(session: AsyncSession, *, tenant: str, email: str, actor: Actor) -> bool:
    """The user can no longer log in and their sessions end; False if there is no such user.
    `actor` made the change (the audit trail records it)."""
    email = email.strip().lower()
    found = await repository.deactivate(session, tenant, email)
    await sessions.end_all(session, tenant, email)
    if found:
        await audit.record(
            session, OUTBOX, tenant=tenant, actor=actor, action="user.deactivated",
            target=f"user:{email}", detail={},
        )  # fmt: skip
    return found


@dataclass(frozen=True)
class Throttled:
    """Too many attempts: try again in `retry_after_s` seconds."""

    retry_after_s: int


@dataclass(frozen=True)
class Logins:
    """What a login needs for the life of the process: the throttle and the password checker."""

    throttle: LoginThrottle
    checker: PasswordChecker


async def authenticate(
    session: AsyncSession, logins: Logins, address: str, tenant: str, email: str, password: str
) -> StaffUser | Throttled | None:
    """The user whose password this is, `Throttled` when this address or account must wait, or
    None (wrong, unknown or deactivated: the answer does not say which). Raises
    `passwords.Busy` when every password-checking slot stays taken."""
    email = email.strip().lower()
    if wait := logins.throttle.retry_after_s(address, tenant, email):
        return Throttled(wait)
    logins.throttle.attempt(address, tenant, email)
    user = await repository.user(session, tenant, email)
    if user is not None and not user.active:
        user = None
    try:
        ok = await logins.checker.matches(user.password_hash if user else DUMMY_HASH, password)
    except Busy:
        logins.throttle.withdraw(address, tenant, email)
        raise
    if not ok or user is None:
        logins.throttle.failed(address, tenant, email)
        return None
    logins.throttle.succeeded(address, tenant, email)
    return user


async def staff_among(
    session: AsyncSession, addresses: set[tuple[str, str]]
) -> dict[tuple[str, str], str | None]:
    """Which of these (tenant, address) pairs name staff with a working login for that tenant
    (deactivated users have none), lower-cased, each with the user's own time zone (for the
    times in their mail; None: the tenant's)."""
    return await repository.staff_addresses(
        session, {(tenant, email.lower()) for tenant, email in addresses}
    )
