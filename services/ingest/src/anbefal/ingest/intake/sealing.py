"""Sealing the respondents' contact data, one transaction for the requests in flight.

Sealing reads (and for a new respondent mints) each respondent's data key: a transaction of its
own per answer, five statements and their round trips. At a steady 200 single answers a second
on a busy machine, those transactions queued behind each other and answers waited seconds for
their 202. Here the requests that arrive while a sealing transaction runs share the next one
(`coalesce.py`); a request whose answers carry no contact data does not wait at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.contact import ContactSealer, needs_sealing
from anbefal.common.datakeys import DataKeys
from anbefal.common.events import EventModel
from anbefal.ingest.intake.coalesce import Coalescer

E = TypeVar("E", bound=EventModel)


class SharedSealer(ContactSealer):
    def __init__(self, keys: DataKeys, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(keys, sessionmaker)
        self._shared: Coalescer[EventModel, EventModel] = Coalescer(super().seal)

    async def seal(self, events: Sequence[E]) -> list[E]:
        if not any(needs_sealing(e) for e in events):
            return list(events)
        # Each caller gets back its own events, sealed, in its order.
        return cast(list[E], await self._shared(list(events)))
