"""The respondents' data keys (crypto-shredding; docs/architecture.md, "Privacy").

Every respondent with contact data has one random key, kept in `privacy.data_keys` wrapped with
the deployment keyring (`ANBEFAL_DATA_KEYS`). Events carry the respondent's name, email and phone
only sealed with that key (`anbefal.common.contact`), so `shred` (deleting the row) makes every
copy on every topic unreadable: retained records, replays and dead letters alike.

The table is the deployment's key vault, not a service's state: ingest's migrations create it
(ingest mints the keys), closed_loop may mint one for an answer that came in before sealing, and
the consumers that need contact data read it in their batch's transaction. There is no cache: a
shredded key stops opening anything at the next batch.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.crypto import Keyring, Undecryptable, new_key

SCHEMA = "privacy"
TABLE = f"{SCHEMA}.data_keys"

# (tenant, respondent key): whose key.
Owner = tuple[str, str]

# One statement, in a transaction or outside one (a producer's sealing): mint a key for every
# owner that has none, and read the others'. The read sees the table as the statement began, so
# a key another copy minted meanwhile is in neither part: `get_or_mint` reads those once more.
GET_OR_MINT = (
    "WITH w AS (SELECT * FROM unnest(CAST($1 AS text[]), CAST($2 AS text[]), "
    "CAST($3 AS text[])) AS w(tenant, respondent, wrapped)), "
    f"minted AS (INSERT INTO {TABLE} (tenant, respondent, wrapped) "
    "SELECT tenant, respondent, wrapped FROM w ON CONFLICT DO NOTHING "
    "RETURNING tenant, respondent, wrapped) "
    "SELECT tenant, respondent, wrapped FROM minted UNION ALL "
    f"SELECT k.tenant, k.respondent, k.wrapped FROM {TABLE} k "
    "JOIN w ON k.tenant = w.tenant AND k.respondent = w.respondent"
)
_FIND = (
    f"SELECT k.tenant, k.respondent, k.wrapped FROM {TABLE} k "
    "JOIN unnest(CAST($1 AS text[]), CAST($2 AS text[])) AS w(tenant, respondent) "
    "ON k.tenant = w.tenant AND k.respondent = w.respondent"
)
# A statement's rows, on a connection of the caller's: (query, *arguments) -> rows. The query
# numbers its arguments as asyncpg does ($1, $2, ...); `in_session` runs it in a session.
Fetch = Callable[..., Awaitable[Iterable[Sequence[Any]]]]


@functools.cache
def _named(query: str) -> TextClause:
    return text(re.sub(r"\$(\d+)", r":p\1", query))


def in_session(session: AsyncSession) -> Fetch:
    """A `Fetch` that runs its statement in `session`'s transaction."""

    async def fetch(query: str, *args: Any) -> Iterable[Sequence[Any]]:
        params = {f"p{n}": arg for n, arg in enumerate(args, start=1)}
        return (await session.execute(_named(query), params)).all()

    return fetch


_DELETE = text(f"DELETE FROM {TABLE} WHERE tenant = :tenant AND respondent = :respondent")


def _context(owner: Owner) -> bytes:
    return f"data-key\x1f{owner[0]}\x1f{owner[1]}".encode()


class DataKeys:
    """The respondents' keys, unwrapped with the deployment keyring."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    async def find(self, session: AsyncSession, owners: Iterable[Owner]) -> dict[Owner, bytes]:
        """The keys that exist of `owners` (a shredded one is absent)."""
        wanted = sorted(set(owners))
        if not wanted:
            return {}
        rows = await in_session(session)(_FIND, [o[0] for o in wanted], [o[1] for o in wanted])
        return self._unwrap(rows, {}, {})

    async def get_or_create(
        self, session: AsyncSession, owners: Iterable[Owner]
    ) -> dict[Owner, bytes]:
        """The key of each owner, minting the missing ones, in `session`'s transaction."""
        return await self.get_or_mint(in_session(session), owners)

    async def get_or_mint(self, fetch: Fetch, owners: Iterable[Owner]) -> dict[Owner, bytes]:
        """The key of each owner, minting the missing ones, in one statement (two when another
        copy minted a key meanwhile) run by `fetch`: every owner's key is wrapped up front, and
        the ones that already had a key are not stored."""
        wanted = sorted(set(owners))
        if not wanted:
            return {}
        fresh = {o: new_key() for o in wanted}
        wrapped = {o: self._keyring.seal(fresh[o], context=_context(o)) for o in wanted}
        tenants, respondents = [o[0] for o in wanted], [o[1] for o in wanted]
        rows = await fetch(GET_OR_MINT, tenants, respondents, [wrapped[o] for o in wanted])
        found = self._unwrap(rows, wrapped, fresh)
        missing = [o for o in wanted if o not in found]
        if missing:
            rows = await fetch(_FIND, [o[0] for o in missing], [o[1] for o in missing])
            found.update(self._unwrap(rows, {}, {}))
        absent = set(wanted) - found.keys()
        if absent:
            raise LookupError(f"no data key for {len(absent)} respondent(s) after minting")
        return found

    def _unwrap(
        self,
        rows: Iterable[Sequence[Any]],
        ours: dict[Owner, str],
        fresh: dict[Owner, bytes],
    ) -> dict[Owner, bytes]:
        """The keys of `rows`; the ones stored as wrapped here need no unwrapping."""
        found: dict[Owner, bytes] = {}
        for tenant, respondent, stored in rows:
            owner = (tenant, respondent)
            if ours.get(owner) == stored:
                found[owner] = fresh[owner]
                continue
            try:
                found[owner] = self._keyring.open(stored, context=_context(owner))
            except Undecryptable:
                # Wrapped with a deployment key that is no longer configured: as good as gone.
                continue
        return found


async def shred(session: AsyncSession, tenant: str, respondent_id: str) -> int:
    """Delete a respondent's data key: from now on no sealed copy of their contact data opens.
    Returns how many keys were deleted (0 when there was none: erasing twice is harmless)."""
    result = await session.execute(_DELETE, {"tenant": tenant, "respondent": respondent_id})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
