"""One-time links to set a password: an admin invites someone by email, or sends a login a
password reset. The mail goes through notify's email outbox; the link
(`<public URL>/set-password/<token>`) works once, for `staff_link_hours`, and only the newest
unused link of a login works. Only the token's hash is stored. Using an invitation makes the
login with the role and scope the admin chose; using a reset sets a new password (and makes a
deactivated login active again). Either ends the login's other sessions and is audited."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import audit
from anbefal.common.auth import Scope, scope_of
from anbefal.common.errors import Conflict, NotFound, Unprocessable
from anbefal.common.events import Actor
from anbefal.notify import repository as tenants
from anbefal.notify.email import service as email
from anbefal.notify.email.compose import compose
from anbefal.notify.models import OUTBOX, StaffLink
from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff import repository
from anbefal.notify.staff.service import LOGIN_ROLES, add_user

PURPOSES = ("invite", "reset")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Sent:
    email: str
    expires_at: datetime


async def invite(
    session: AsyncSession,
    settings: NotifySettings,
    *,
    tenant: str,
    email_address: str,
    name: str,
    role: str,
    scope: Scope,
    locale: str,
    actor: Actor,
) -> Sent:
    address = email_address.strip().lower()
    if role not in LOGIN_ROLES:
        raise Unprocessable(
            "not a login role", details=[{"field": "role", "message": ", ".join(LOGIN_ROLES)}]
        )
    existing = await repository.user(session, tenant, address)
    if existing is not None and existing.active:
        raise Conflict(f"{address} has a login already: send a password reset", code="user_exists")
    link = StaffLink(
        tenant=tenant, email=address, purpose="invite", name=name.strip() or address,
        role=role, scope=dict(scope), locale=locale,
    )  # fmt: skip
    sent = await _issue(session, settings, link, actor)
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=actor, action="user.invited",
        target=f"user:{address}", detail={"role": role, "scope": dict(scope)},
    )  # fmt: skip
    return sent


async def reset(
    session: AsyncSession,
    settings: NotifySettings,
    *,
    tenant: str,
    email_address: str,
    actor: Actor,
) -> Sent:
    address = email_address.strip().lower()
    user = await repository.user(session, tenant, address)
    if user is None:
        raise NotFound(f"no user {address}")
    link = StaffLink(
        tenant=tenant, email=address, purpose="reset", name=user.name, role=user.role,
        scope=dict(user.scope), locale=user.locale,
    )  # fmt: skip
    sent = await _issue(session, settings, link, actor)
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=actor, action="user.password_reset_sent",
        target=f"user:{address}", detail={},
    )  # fmt: skip
    return sent


async def _issue(
    session: AsyncSession, settings: NotifySettings, link: StaffLink, actor: Actor
) -> Sent:
    """Store the link (the login's earlier unused links stop working) and queue its mail."""
    await session.execute(
        delete(StaffLink).where(
            StaffLink.tenant == link.tenant, StaffLink.email == link.email,
            StaffLink.used_at.is_(None),
        )
    )  # fmt: skip
    token = secrets.token_urlsafe(32)
    link.token_hash = _digest(token)
    link.created_by = actor.sub
    link.expires_at = datetime.now(UTC) + timedelta(hours=settings.staff_link_hours)
    session.add(link)
    tenant = (await tenants.tenants(session, {link.tenant})).get(link.tenant)
    mail = compose(
        key=uuid.uuid4(), tenant_name=link.tenant, tenant=tenant, settings=settings,
        template=f"staff_{link.purpose}", locale=link.locale, recipient=link.email,
        reply_to=None, trace_id=None, name=link.name, role=link.role,
        link=f"{settings.public_url.rstrip('/')}/set-password/{token}",
        expires=link.expires_at.strftime("%Y-%m-%d %H:%M UTC"), organisation=link.tenant,
    )  # fmt: skip
    await email.queue(session, [mail])
    return Sent(link.email, link.expires_at)


async def usable(session: AsyncSession, token: str, *, lock: bool = False) -> StaffLink | None:
    """The link, if it was not used and has not expired."""
    query = select(StaffLink).where(
        StaffLink.token_hash == _digest(token),
        StaffLink.used_at.is_(None),
        StaffLink.expires_at > datetime.now(UTC),
    )
    found: StaffLink | None = await session.scalar(query.with_for_update() if lock else query)
    return found


async def use(session: AsyncSession, token: str, password: str) -> StaffLink | None:
    """Set the password through the link (once); None if it is used, expired or unknown.
    ValueError when the password will not do (nothing is used up then)."""
    link = await usable(session, token, lock=True)
    if link is None:
        return None
    await add_user(
        session, tenant=link.tenant, email=link.email, name=link.name, role=link.role,
        password=password, actor=Actor(sub=link.email, role=link.role), locale=link.locale,
        scope=scope_of(link.scope),
    )  # fmt: skip
    link.used_at = datetime.now(UTC)
    return link
