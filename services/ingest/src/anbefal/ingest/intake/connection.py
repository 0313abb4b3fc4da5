"""One PostgreSQL connection of ingest's own, for the round trips every request shares.

Not a pool: a pool resets a connection after every use (one more statement and round trip),
which cost as much CPU again as the dedupe lookup itself, a fifth of ingest's CPU per webhook
(py-spy, bench/ingest.py --ingest-only). Each user (the dedupe lookups, its writes, sealing)
has one, used by one round trip at a time (`coalesce.py` makes the requests share it).

Its statements are planned on every run (`plan_cache_mode`). PostgreSQL otherwise keeps one
generic plan for a prepared statement from its sixth run, made with the tables' sizes of that
moment, until they are analysed again; this connection prepares its statements once and keeps
them for hours, while `seen_answers` and `data_keys` grow from nothing to a deadline day's
answers in minutes. The key minting's plan, cached while `data_keys` was nearly empty, read the
whole table for every batch: PostgreSQL's CPU per answer in `bench/ingest.py --ingest-only`
grew from 63 to 212 µs over three 10 s rounds, and 20-22 µs with a plan per run
(tests/test_plans.py). A plan for these small statements costs PostgreSQL a few µs.
"""

from __future__ import annotations

import contextlib
from typing import Any

import asyncpg


class Connection:
    """One connection, opened when first used and again after it failed."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None

    async def _open(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self._dsn, timeout=5, server_settings={"plan_cache_mode": "force_custom_plan"}
            )
        return self._conn

    async def fetch(self, query: str, *args: Any, timeout: float) -> list[asyncpg.Record]:
        conn = await self._open()
        try:
            return list(await conn.fetch(query, *args, timeout=timeout))
        except Exception:
            await self.close()  # a timeout leaves the protocol mid-query: start afresh
            raise

    async def execute(self, query: str, *args: Any, timeout: float) -> None:
        conn = await self._open()
        try:
            await conn.execute(query, *args, timeout=timeout)
        except Exception:
            await self.close()
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
