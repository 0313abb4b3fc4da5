"""A tenant's SSO configuration, and who a provider's verified claims make of a person.

Pure where it can be (`role_for`, `person`); the SQL is small enough to live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.notify.models import StaffUser
from anbefal.notify.sso.models import SsoProvider
from anbefal.notify.staff import repository as staff_repository
from anbefal.notify.staff import sessions
from anbefal.notify.staff.service import LOGIN_ROLES

# A person in several mapped groups gets the widest of their roles.
_RANK = {"admin": 4, "director": 3, "agent": 2, "viewer": 1}
# Never an argon2 hash, so a user made by single sign-on cannot log in with a password until an
# admin sets one.
NO_PASSWORD = "!sso"


def secret_context(tenant: str) -> str:
    """What the client secret is sealed for: this tenant's SSO, nothing else."""
    return f"notify:sso-client-secret:{tenant}"


def check_roles(roles: dict[str, str], default_role: str | None) -> None:
    """Raises ValueError naming a role that is not a staff role."""
    for role in [*roles.values(), *([default_role] if default_role else [])]:
        if role not in LOGIN_ROLES:
            raise ValueError(f"{role!r} is not a staff role ({', '.join(LOGIN_ROLES)})")


def role_for(claims: dict[str, Any], provider: SsoProvider) -> str | None:
    """The staff role the claims give: the widest role of a mapped group, else the default
    role, else None (refused)."""
    groups = claims.get(provider.group_claim)
    if isinstance(groups, str):
        groups = [groups]
    found = [
        str(provider.roles[g])
        for g in (groups if isinstance(groups, list) else [])
        if isinstance(g, str) and g in provider.roles
    ]
    if found:
        return max(found, key=lambda role: _RANK.get(role, 0))
    return provider.default_role


@dataclass(frozen=True)
class Person:
    email: str
    name: str


def person(claims: dict[str, Any], provider: SsoProvider) -> Person | None:
    """The signed-in person's address, if it is verified (when the provider says) and in one of
    the tenant's domains; None otherwise."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        return None
    if claims.get("email_verified") is False:
        return None
    email = email.strip().lower()
    if email.rpartition("@")[2] not in provider.domains:
        return None
    name = claims.get("name")
    return Person(email=email, name=name if isinstance(name, str) and name else email)


def domain_of(email: str) -> str:
    return email.strip().lower().rpartition("@")[2]


async def provider(session: AsyncSession, tenant: str) -> SsoProvider | None:
    return await session.get(SsoProvider, tenant)


async def provider_for_domain(session: AsyncSession, domain: str) -> SsoProvider | None:
    found: SsoProvider | None = await session.scalar(
        select(SsoProvider).where(SsoProvider.domains.any(domain))  # type: ignore[arg-type]
    )
    return found


async def domains_taken(session: AsyncSession, tenant: str, domains: list[str]) -> list[str]:
    """Those of `domains` another tenant already signs in."""
    rows = await session.scalars(
        select(SsoProvider.domains).where(
            SsoProvider.tenant != tenant, SsoProvider.domains.overlap(domains)
        )
    )
    return sorted({d for row in rows for d in row} & set(domains))


async def save(session: AsyncSession, row: dict[str, Any]) -> None:
    stmt = insert(SsoProvider).values({**row, "updated_at": datetime.now(UTC)})
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[SsoProvider.tenant],
            set_={c: stmt.excluded[c] for c in row if c != "tenant"}
            | {"updated_at": stmt.excluded.updated_at},
        )
    )


async def remove(session: AsyncSession, tenant: str) -> bool:
    result = await session.execute(
        delete(SsoProvider).where(SsoProvider.tenant == tenant).returning(SsoProvider.tenant)
    )
    return result.first() is not None


async def staff_user(
    session: AsyncSession, tenant: str, who: Person, role: str, locale: str
) -> StaffUser | None:
    """The staff user this sign-in is: made on first sign-in (without a password), given the
    role the provider's groups say on every later one (a changed role ends their other
    sessions, as any change to a user does). None: the user was deactivated here, which the
    provider does not override."""
    user = await staff_repository.user(session, tenant, who.email)
    if user is None:
        await session.execute(
            insert(StaffUser)
            .values(
                tenant=tenant, email=who.email, name=who.name, role=role, locale=locale,
                password_hash=NO_PASSWORD, active=True,
            )
            .on_conflict_do_nothing(index_elements=[StaffUser.tenant, StaffUser.email])
        )  # fmt: skip
        return await staff_repository.user(session, tenant, who.email)
    if not user.active:
        return None
    if user.role != role:
        await session.execute(
            update(StaffUser)
            .where(StaffUser.tenant == tenant, StaffUser.email == who.email)
            .values(role=role)
        )
        await sessions.end_all(session, tenant, who.email)
        await session.refresh(user)
    return user
