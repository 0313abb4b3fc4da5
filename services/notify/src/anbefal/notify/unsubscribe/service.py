"""Unsubscribing: the page's answer to a link, and the check the email worker makes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.crypto import Keyring
from anbefal.notify import repository as shared
from anbefal.notify.models import Email
from anbefal.notify.unsubscribe import repository, tokens


@dataclass(frozen=True)
class Unsubscribed:
    """What the page shows for a valid link."""

    subscriber: tokens.Subscriber
    tenant_name: str


async def follow(
    session: AsyncSession, keys: tokens.LinkKeys, token: str, *, confirm: bool
) -> Unsubscribed | None:
    """Read a link's token (None if it is not ours); with `confirm`, put its address on the
    tenant's suppression list. No login: the signed token is the permission."""
    subscriber = tokens.read(keys, token)
    if subscriber is None:
        return None
    tenant = (await shared.tenants(session, {subscriber.tenant})).get(subscriber.tenant)
    if confirm:
        await repository.suppress(session, subscriber.tenant, subscriber.email, "unsubscribed")
    return Unsubscribed(subscriber, tenant.display_name if tenant else subscriber.tenant)


async def suppressed(
    session: AsyncSession, emails: Sequence[Email], keyring: Keyring
) -> set[tuple[str, str]]:
    """Which (tenant, lower-cased address) pairs of these emails asked for no more mail."""
    return await repository.suppressed(session, emails, keyring)
