"""Staff accounts for the page: argon2 password hashes, nothing reversible."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import audit
from anbefal.common.events import Actor
from anbefal.notify.models import OUTBOX, StaffUser
from anbefal.notify.staff import repository
from anbefal.notify.tasks.lifecycle import STAFF

_hasher = PasswordHasher()
STAFF_ROLES: tuple[str, ...] = tuple(role.value for role in STAFF)
# Verifying against this when the user does not exist keeps the response time the same, so
# the login form does not tell which addresses have accounts.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


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
) -> None:
    """Create a user, or update the name, role and password of an existing one; `actor` made
    the change (the audit trail records it)."""
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if len(password) < 10:
        raise ValueError("the password needs at least 10 characters")
    row = {
        "tenant": tenant,
        "email": email.strip().lower(),
        "name": name,
        "role": role,
        "locale": locale,
        "password_hash": _hasher.hash(password),
    }
    before = await repository.user(session, tenant, row["email"])
    await repository.upsert_user(session, row)
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=actor,
        action="user.changed" if before else "user.added", target=f"user:{row['email']}",
        detail={"role": {"from": before.role if before else None, "to": role},
                "name": {"from": before.name if before else None, "to": name},
                "password_changed": True},
    )  # fmt: skip


async def authenticate(
    session: AsyncSession, tenant: str, email: str, password: str
) -> StaffUser | None:
    user = await repository.user(session, tenant, email.strip().lower())
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except VerificationError:
        return None
    return user


async def staff_among(
    session: AsyncSession, addresses: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (tenant, address) pairs name staff with a login for that tenant; the
    result holds the pairs lower-cased."""
    return await repository.staff_addresses(
        session, {(tenant, email.lower()) for tenant, email in addresses}
    )
