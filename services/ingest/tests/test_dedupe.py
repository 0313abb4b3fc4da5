"""The dedupe store against a real PostgreSQL: what it remembers is found again, a lookup is
one statement on a connection of its own, and a lost connection is replaced."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from anbefal.devstack.testing import asyncpg_dsn, wait_until
from anbefal.ingest.intake.dedupe import DedupeStore

pytestmark = pytest.mark.integration


async def backends(dsn: str) -> list[asyncpg.Record]:
    """The dedupe store's sessions and the statement each ran last."""
    conn = await asyncpg.connect(dsn)
    try:
        return list(
            await conn.fetch(
                "SELECT pid, query FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await conn.close()


async def test_a_lookup_is_one_statement_and_survives_a_lost_connection(stack: Any) -> None:
    dsn = asyncpg_dsn(stack.new_database())
    store = DedupeStore(dsn, lookup_timeout_s=5)
    stop = asyncio.Event()
    writer = asyncio.create_task(store.run(stop))
    try:
        key = (uuid.uuid4(), 1)
        store.remember([key])
        other = DedupeStore(dsn, lookup_timeout_s=5)  # a second copy: nothing in its memory

        async def stored() -> bool:
            return await other.seen([key]) == {key}

        await wait_until(stored, 10, "the key reached the table")
        # Each lookup is the query alone: a pooled connection was reset after every one (one
        # more round trip and statement, about as much CPU again as the lookup itself).
        sessions = await backends(dsn)
        assert any("unnest" in s["query"] for s in sessions)
        assert not any("RESET ALL" in s["query"] for s in sessions), sessions

        # The connection dies (a restart, a failover): the next lookup that fails opens a
        # new one, and the lookups after it find the key again.
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        await wait_until(stored, 10, "a lookup after the connection was lost")
        await other.close()
    finally:
        stop.set()
        await writer


async def test_a_lookup_that_hangs_fails_open_within_its_deadline() -> None:
    """Every request waiting for a stuck lookup is answered from memory by the deadline, and a
    request that goes away does not take the others' answer with it."""
    store = DedupeStore("postgresql://unused", lookup_timeout_s=0.3)
    hung = asyncio.Event()

    async def stuck(*_: Any, **__: Any) -> list[Any]:
        hung.set()
        await asyncio.sleep(3600)
        return []

    store._lookups.fetch = stuck  # type: ignore[method-assign]
    remembered = (uuid.uuid4(), 1)
    store.remember([remembered])
    fresh = [(uuid.uuid4(), 1) for _ in range(3)]
    started = asyncio.get_running_loop().time()
    leaving = asyncio.create_task(store.seen([fresh[0]]))
    waiting = [asyncio.create_task(store.seen([k, remembered])) for k in fresh[1:]]
    await hung.wait()
    leaving.cancel()
    answers = await asyncio.gather(*waiting)
    assert answers == [{remembered}, {remembered}]
    assert asyncio.get_running_loop().time() - started < 1.5
    await store.close()
