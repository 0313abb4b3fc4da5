"""Dedupe keys of the answer versions already in Kafka, off the request's critical path.

A delivery of an answer version that was already published is acknowledged again without a new
event. The keys live in `ingest.seen_answers`, but one query per request would make the
database the webhook's bottleneck, so:

- lookups are micro-batched (`coalesce.py`): every request that arrives while a lookup is
  running shares the next one (one `unnest` query for all of them), within one deadline per
  batch;
- keys are remembered in memory at once and written in the background, in batches;
- recent keys are answered from memory, so a quick retry of the same delivery is a duplicate
  even before its key reached the table.

All of this fails open: if PostgreSQL is slow or down, the answer is published anyway. The
consumers dedupe by event id and version, so the worst case is one redundant event, never a
lost or double-counted answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import OrderedDict

from anbefal.common.logging import get_logger
from anbefal.ingest.intake.coalesce import Coalescer
from anbefal.ingest.intake.connection import Connection

log = get_logger(__name__)

Key = tuple[uuid.UUID, int]
_LOOKUP = (
    "SELECT s.event_id, s.version FROM ingest.seen_answers s "
    "JOIN unnest($1::uuid[], $2::int[]) AS k(event_id, version) "
    "ON s.event_id = k.event_id AND s.version = k.version"
)
_STORE = (
    "INSERT INTO ingest.seen_answers (event_id, version) "
    "SELECT * FROM unnest($1::uuid[], $2::int[]) ON CONFLICT DO NOTHING"
)


class DedupeStore:
    def __init__(
        self,
        dsn: str,
        *,
        lookup_timeout_s: float = 0.5,
        flush_interval_s: float = 0.05,
        recent_max: int = 200_000,
    ) -> None:
        self._dsn = dsn
        self._flush_interval_s = flush_interval_s
        self._recent: OrderedDict[Key, None] = OrderedDict()
        self._recent_max = recent_max
        self._pending_store: list[Key] = []
        self._lookup = Coalescer(self._query, timeout_s=lookup_timeout_s)
        # One connection for lookups, one for writes, each used by one loop at a time.
        self._lookups = Connection(dsn)
        self._writes = Connection(dsn)

    def _remember_locally(self, keys: list[Key]) -> None:
        for key in keys:
            self._recent[key] = None
            self._recent.move_to_end(key)
        while len(self._recent) > self._recent_max:
            self._recent.popitem(last=False)

    async def seen(self, keys: list[Key]) -> set[Key]:
        """Which of `keys` are already published; fails open (returns what memory knows)."""
        known = {k for k in keys if k in self._recent}
        unknown = [k for k in keys if k not in known]
        if not unknown:
            return known
        try:
            found = await self._lookup(unknown)
        except Exception as exc:
            log.warning("dedupe lookup failed; publishing without it", error=repr(exc))
            return known
        return known | {k for k, hit in zip(unknown, found, strict=True) if hit}

    async def _query(self, keys: list[Key]) -> list[bool]:
        """One statement for the keys of every request that shares this lookup."""
        unique = list(dict.fromkeys(keys))
        rows = await self._lookups.fetch(
            _LOOKUP, [k[0] for k in unique], [k[1] for k in unique], timeout=5
        )
        found = {(r["event_id"], r["version"]) for r in rows}
        return [k in found for k in keys]

    def remember(self, keys: list[Key]) -> None:
        """Record published versions: in memory now, in PostgreSQL by the next flush."""
        self._remember_locally(keys)
        self._pending_store.extend(keys)

    async def flush(self) -> int:
        if not self._pending_store:
            return 0
        keys, self._pending_store = self._pending_store, []
        try:
            await self._writes.execute(
                _STORE, [k[0] for k in keys], [k[1] for k in keys], timeout=10
            )
        except Exception as exc:
            log.warning(
                "dedupe keys not stored; a redelivery will publish again",
                keys=len(keys),
                error=repr(exc),
            )
            return 0
        return len(keys)

    async def run(self, stop: asyncio.Event) -> None:
        """The background writer: flushes every interval, and once more on shutdown."""
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._flush_interval_s)
                await self.flush()
        finally:
            await self.flush()
            await self.close()

    async def close(self) -> None:
        self._lookup.cancel()
        await self._lookups.close()
        await self._writes.close()
