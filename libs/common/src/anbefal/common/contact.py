"""A respondent's contact data in events, sealed with their data key (crypto-shredding).

Producers seal (`seal_events`): the event keeps the respondent's key, locale and account in the
clear (routing needs them; none names a person), and carries name, email and phone only in
`Respondent.sealed`. Consumers that need them open (`open_events`); a record whose key is gone
(shredded) or whose seal does not open reads as a respondent without contact data, never as an
error, so the figures and the routing that need no contact data still happen. A record written
before sealing (plaintext) is read as it is.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.crypto import Keyring, Undecryptable, open_with_key, seal_with_key
from anbefal.common.datakeys import DataKeys, Owner
from anbefal.common.events import EventModel, Respondent
from anbefal.common.identity import identity_hash, normalise_email

CONTACT_FIELDS = ("name", "email", "phone")


E = TypeVar("E", bound=EventModel)


def _owner(tenant: str, respondent: Respondent) -> Owner:
    return (tenant, respondent.key)


def _context(owner: Owner) -> bytes:
    return f"contact\x1f{owner[0]}\x1f{owner[1]}".encode()


def _plain(respondent: Respondent) -> dict[str, str]:
    return {f: v for f in CONTACT_FIELDS if (v := getattr(respondent, f)) is not None}


def _target(event: EventModel) -> tuple[str, Respondent] | None:
    """The tenant and respondent of an event that carries one (answers, actions)."""
    respondent = getattr(event, "respondent", None)
    tenant = getattr(event, "tenant", None)
    if isinstance(respondent, Respondent) and isinstance(tenant, str):
        return tenant, respondent
    return None


def needs_sealing(event: EventModel) -> bool:
    target = _target(event)
    return target is not None and bool(_plain(target[1]))


def seal(key: bytes, tenant: str, respondent: Respondent, keyring: Keyring) -> Respondent:
    """The respondent with name, email and phone only inside `sealed`, and the email's keyed
    hash beside it (what an erasure by email finds the answer by)."""
    owner = _owner(tenant, respondent)
    blob = seal_with_key(key, json.dumps(_plain(respondent)).encode(), _context(owner))
    cleared: dict[str, str | None] = dict.fromkeys(CONTACT_FIELDS)
    if respondent.email:
        email = normalise_email(respondent.email)
        cleared["email_hash"] = identity_hash(keyring, tenant, "email", email)
    return respondent.model_copy(
        update={**cleared, "sealed": base64.urlsafe_b64encode(blob).decode("ascii")}
    )


def open_sealed(key: bytes | None, tenant: str, respondent: Respondent) -> Respondent:
    """The respondent with their contact data, or without any when it cannot be opened."""
    contact: dict[str, str] = {}
    if key is not None and respondent.sealed is not None:
        try:
            blob = base64.urlsafe_b64decode(respondent.sealed)
            opened = json.loads(open_with_key(key, blob, _context(_owner(tenant, respondent))))
            contact = {f: v for f in CONTACT_FIELDS if isinstance(v := opened.get(f), str)}
        except (Undecryptable, binascii.Error, ValueError, AttributeError):
            contact = {}
    return respondent.model_copy(
        update={**dict.fromkeys(CONTACT_FIELDS), **contact, "sealed": None}
    )


def _with(event: E, respondent: Respondent) -> E:
    return event.model_copy(update={"respondent": respondent})


# The data key of each owner, minting the missing ones.
KeysFor = Callable[[set[Owner]], Awaitable[dict[Owner, bytes]]]


async def seal_events(session: AsyncSession, keys: DataKeys, events: Sequence[E]) -> list[E]:
    """The events with every plaintext contact sealed (minting the keys that are missing)."""
    return await seal_with(partial(keys.get_or_create, session), keys.keyring, events)


async def seal_with(keys_for: KeysFor, keyring: Keyring, events: Sequence[E]) -> list[E]:
    """`seal_events` with the keys from `keys_for`."""
    targets = [t if (t := _target(e)) is not None and _plain(t[1]) else None for e in events]
    owners = {_owner(*t) for t in targets if t is not None}
    if not owners:
        return list(events)
    found = await keys_for(owners)
    return [
        e if t is None else _with(e, seal(found[_owner(*t)], *t, keyring))
        for e, t in zip(events, targets, strict=True)
    ]


async def open_events(session: AsyncSession, keys: DataKeys, events: Sequence[E]) -> list[E]:
    """The events with every sealed contact opened, or cleared where its key is gone."""
    targets = [t if (t := _target(e)) is not None and t[1].sealed else None for e in events]
    owners = {_owner(*t) for t in targets if t is not None}
    if not owners:
        return list(events)
    found = await keys.find(session, owners)
    return [
        e if t is None else _with(e, open_sealed(found.get(_owner(*t)), *t))
        for e, t in zip(events, targets, strict=True)
    ]
