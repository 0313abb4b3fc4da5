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

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.crypto import Keyring, Undecryptable, new_key

SCHEMA = "privacy"
TABLE = f"{SCHEMA}.data_keys"

# (tenant, respondent key): whose key.
Owner = tuple[str, str]

_SELECT = text(
    f"SELECT k.tenant, k.respondent, k.wrapped FROM {TABLE} k "
    "JOIN unnest(CAST(:tenants AS text[]), CAST(:respondents AS text[])) AS w(tenant, respondent) "
    "ON k.tenant = w.tenant AND k.respondent = w.respondent"
)
_INSERT = text(
    f"INSERT INTO {TABLE} (tenant, respondent, wrapped) "
    "SELECT * FROM unnest(CAST(:tenants AS text[]), CAST(:respondents AS text[]), "
    "CAST(:wrapped AS text[])) ON CONFLICT DO NOTHING"
)
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
        rows = await session.execute(
            _SELECT,
            {"tenants": [o[0] for o in wanted], "respondents": [o[1] for o in wanted]},
        )
        found: dict[Owner, bytes] = {}
        for tenant, respondent, wrapped in rows:
            owner = (tenant, respondent)
            try:
                found[owner] = self._keyring.open(wrapped, context=_context(owner))
            except Undecryptable:
                # Wrapped with a deployment key that is no longer configured: as good as gone.
                continue
        return found

    async def get_or_create(
        self, session: AsyncSession, owners: Iterable[Owner]
    ) -> dict[Owner, bytes]:
        """The key of each owner, minting the missing ones."""
        wanted = set(owners)
        found = await self.find(session, wanted)
        missing = sorted(wanted - found.keys())
        if missing:
            await session.execute(
                _INSERT,
                {
                    "tenants": [o[0] for o in missing],
                    "respondents": [o[1] for o in missing],
                    "wrapped": [
                        self._keyring.seal(new_key(), context=_context(o)) for o in missing
                    ],
                },
            )
            # Read back rather than trust our own: another copy may have minted one first.
            found.update(await self.find(session, missing))
        absent = wanted - found.keys()
        if absent:
            raise LookupError(f"no data key for {len(absent)} respondent(s) after minting")
        return found


async def shred(session: AsyncSession, tenant: str, respondent_id: str) -> int:
    """Delete a respondent's data key: from now on no sealed copy of their contact data opens.
    Returns how many keys were deleted (0 when there was none: erasing twice is harmless)."""
    result = await session.execute(_DELETE, {"tenant": tenant, "respondent": respondent_id})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
