"""Sealing the respondents' contact data: one statement for the requests in flight.

Sealing reads each respondent's data key, and mints one for a new respondent. As a transaction
of its own per answer (five statements and their round trips), at a steady 200 single answers
a second on a busy machine those transactions queued behind each other and answers waited
seconds for their 202; at a steady 100 a second, each still cost its request more CPU than
the rest of its work. Here the requests that arrive while a round trip runs share the next one
(`coalesce.py`), and a round trip is one statement on ingest's own connection that mints the
missing keys and reads the others (`DataKeys.get_or_mint`); a request whose answers carry no
contact data does not wait at all. Without the database no key can be minted: the request is
answered 503 (retried).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, TypeVar, cast

import asyncpg

from anbefal.common.contact import needs_sealing, seal_with
from anbefal.common.datakeys import DataKeys, Owner
from anbefal.common.errors import RetryableError
from anbefal.common.events import EventModel
from anbefal.ingest.intake.coalesce import Coalescer
from anbefal.ingest.intake.connection import Connection

E = TypeVar("E", bound=EventModel)


class SharedSealer:
    def __init__(self, keys: DataKeys, dsn: str) -> None:
        self._keys = keys
        self._connection = Connection(dsn)
        self._shared: Coalescer[EventModel, EventModel] = Coalescer(self._seal)

    async def seal(self, events: Sequence[E]) -> list[E]:
        if not any(needs_sealing(e) for e in events):
            return list(events)
        # Each caller gets back its own events, sealed, in its order.
        return cast(list[E], await self._shared(list(events)))

    async def _seal(self, events: list[EventModel]) -> list[EventModel]:
        return await seal_with(self._keys_for, self._keys.keyring, events)

    async def _keys_for(self, owners: set[Owner]) -> dict[Owner, bytes]:
        try:
            return await self._keys.get_or_mint(self._fetch, owners)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
            raise RetryableError(f"data keys unavailable: {exc!r}") from exc

    async def _fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return await self._connection.fetch(query, *args, timeout=5)

    async def run(self, stop: asyncio.Event) -> None:
        """Holds the connection until the service stops."""
        await stop.wait()
        await self.close()

    async def close(self) -> None:
        self._shared.cancel()
        await self._connection.close()
