"""The suppression list's SQL: addresses that asked for no more mail from a tenant."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.crypto import Keyring
from anbefal.common.erasure import identity_hashes
from anbefal.notify import repository
from anbefal.notify.models import Email, Suppression


async def suppress(session: AsyncSession, tenant: str, email: str, reason: str) -> None:
    await session.execute(
        insert(Suppression)
        .values(tenant=tenant, email=email.strip().lower(), reason=reason)
        .on_conflict_do_nothing()
    )


async def suppressed(
    session: AsyncSession, emails: Sequence[Email], keyring: Keyring
) -> set[tuple[str, str]]:
    """Which (tenant, lower-cased address) pairs of these emails are on the suppression list,
    as the address or, once its owner was erased, as its keyed hash."""
    pairs = {(e.tenant, e.recipient) for e in emails if e.recipient}
    return await suppressed_addresses(session, pairs, keyring)


async def suppressed_addresses(
    session: AsyncSession, pairs: set[tuple[str, str]], keyring: Keyring
) -> set[tuple[str, str]]:
    """Which of these (tenant, address) pairs are on the suppression list (see `suppressed`),
    lower-cased."""
    forms: dict[tuple[str, str], tuple[str, str]] = {}
    for tenant, recipient in pairs:
        address = recipient.lower()
        for form in (address, *identity_hashes(keyring, tenant, "email", address)):
            forms[(tenant, form)] = (tenant, address)
    return {forms[pair] for pair in await repository.present(session, Suppression, set(forms))}
