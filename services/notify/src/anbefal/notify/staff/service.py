"""Staff accounts for the page: argon2 password hashes, nothing reversible."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.notify.models import StaffUser
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
    locale: str = "en",
) -> None:
    """Create a user, or update the name, role and password of an existing one."""
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
    await repository.upsert_user(session, row)


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
