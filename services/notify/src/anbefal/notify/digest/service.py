"""Sending digests: once per tenant, period and recipient, whichever notify copy gets there.

Each recipient's mail is keyed by (tenant, period, address), the email outbox's UNIQUE key, so
two copies that find the same digest due both write it and the outbox keeps one; the email
worker sends it. Recipients who are team leads (staff users with a scope) get a digest read
within their scope; everyone else the tenant's.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Scope, scope_of
from anbefal.common.logging import get_logger
from anbefal.notify.dashboard.client import Unavailable
from anbefal.notify.digest import mail
from anbefal.notify.digest.content import Digest, gather
from anbefal.notify.digest.loop import loop_line
from anbefal.notify.digest.schedule import Period, due, period
from anbefal.notify.email import repository as email_repository
from anbefal.notify.email.compose import message_id, sender_of
from anbefal.notify.models import Email, StaffUser, Tenant
from anbefal.notify.settings import NotifySettings

log = get_logger(__name__)
TEMPLATE = "digest"
_NAMESPACE = uuid.UUID("5b0f0d3e-7c1a-4d55-9a53-6d1c2b1f0a42")


def email_key(tenant: str, start: Any, recipient: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{tenant}|{start}|{recipient.strip().lower()}")


@dataclass(frozen=True)
class Prepared:
    """A digest for some recipients: the rows to write, and what they say (for a dry run)."""

    rows: list[dict[str, Any]]
    digests: list[tuple[Scope, list[str], Digest]]


async def _scopes(
    session: AsyncSession, tenant: str, recipients: list[str]
) -> dict[Scope, list[str]]:
    found = await session.execute(
        select(StaffUser.email, StaffUser.scope).where(
            StaffUser.tenant == tenant,
            StaffUser.email.in_([r.lower() for r in recipients]),
            StaffUser.active.is_(True),
        )
    )
    scopes = {email: scope_of(scope) for email, scope in found.all()}
    grouped: dict[Scope, list[str]] = defaultdict(list)
    for recipient in recipients:
        grouped[scopes.get(recipient.lower(), ())].append(recipient)
    return dict(grouped)


async def prepare(
    session: AsyncSession,
    settings: NotifySettings,
    tenant: Tenant,
    when: Period,
    recipients: list[str],
    now: datetime,
    *,
    keys: dict[str, uuid.UUID] | None = None,
) -> Prepared:
    """The mail rows of this period's digest for `recipients` (keyed per period unless `keys`
    names other keys, as a one-off send to a given address does)."""
    sender = sender_of(tenant.tenant, tenant, settings)
    rows: list[dict[str, Any]] = []
    digests = []
    for scope, group in (await _scopes(session, tenant.tenant, recipients)).items():
        loop = await loop_line(session, tenant, when, scope, now)
        digest = await gather(session, settings, tenant, when, scope, now, loop_line=loop)
        digests.append((scope, group, digest))
        body, page = mail.text(digest), mail.html(digest)
        for recipient in group:
            key = (keys or {}).get(recipient) or email_key(tenant.tenant, when.start, recipient)
            rows.append(
                {
                    "action_id": key,
                    "tenant": tenant.tenant,
                    "template": TEMPLATE,
                    "message_id": message_id(key, sender),
                    "sender": sender,
                    "reply_to": None,
                    "recipient": recipient,
                    "subject": digest.subject,
                    "body": body,
                    "html": page,
                    "images": digest.charts or None,
                    "unsubscribe_url": None,
                    "trace_id": None,
                    "respondent_key": None,
                }  # fmt: skip
            )
    return Prepared(rows, digests)


async def written(session: AsyncSession, keys: list[uuid.UUID]) -> set[uuid.UUID]:
    return set(await session.scalars(select(Email.action_id).where(Email.action_id.in_(keys))))


def current_period(tenant: Tenant, now: datetime) -> Period:
    return period(
        now, time_zone=tenant.time_zone, every_days=tenant.digest_every_days,
        hour=tenant.digest_hour,
    )  # fmt: skip


async def send_due(session: AsyncSession, settings: NotifySettings, now: datetime) -> int:
    """Write the digests that are due and not yet written; returns how many mails."""
    tenants = await session.scalars(select(Tenant).where(Tenant.digest_recipients != []))
    count = 0
    for tenant in tenants:
        when = due(
            now, time_zone=tenant.time_zone, every_days=tenant.digest_every_days,
            hour=tenant.digest_hour,
        )  # fmt: skip
        if when is None:
            continue
        keys = {r: email_key(tenant.tenant, when.start, r) for r in tenant.digest_recipients}
        done = await written(session, list(keys.values()))
        missing = [r for r, key in keys.items() if key not in done]
        if not missing:
            continue
        try:
            prepared = await prepare(session, settings, tenant, when, missing, now)
        except Unavailable as exc:
            log.warning("digest waits: scoring unavailable", tenant=tenant.tenant, error=str(exc))
            continue  # the next poll tries again
        count += await email_repository.insert_emails(session, prepared.rows)
    return count
