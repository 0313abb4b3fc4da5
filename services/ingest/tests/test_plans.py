"""Ingest's lookups stay index lookups however fast their tables grow.

PostgreSQL plans a prepared statement afresh for its first five runs and may then keep one
generic plan, made with the table's size at that moment, until the table is analysed again.
Ingest prepares its statements on connections it keeps for hours, on tables that grow from
nothing to a deadline day's answers in minutes (autovacuum's analyse runs at most once a
minute). The key minting's plan, cached while `data_keys` was nearly empty, read the whole
table on every batch (this test failed on it): in `bench/ingest.py` PostgreSQL's CPU per answer
grew from 63 to 212 µs over three 10 s rounds, and the webhooks per second fell with it. The
dedupe lookup kept its index in the same conditions; it is checked all the same.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from anbefal.common.datakeys import GET_OR_MINT
from anbefal.devstack.testing import asyncpg_dsn
from anbefal.ingest.intake.connection import Connection
from anbefal.ingest.intake.dedupe import _LOOKUP

pytestmark = pytest.mark.integration


async def plan_of(conn: Connection, query: str, arguments: str) -> str:
    """The plan PostgreSQL now uses for `query` as `conn` prepared it (generic or custom)."""
    rows = await conn.fetch(
        "SELECT name FROM pg_prepared_statements WHERE statement = $1", query, timeout=5
    )
    assert len(rows) == 1, rows
    plan = await conn.fetch(f'EXPLAIN EXECUTE "{rows[0]["name"]}"({arguments})', timeout=5)
    return "\n".join(r[0] for r in plan)


async def test_lookups_keep_to_the_index_when_the_table_grows_unanalysed(stack: Any) -> None:
    dsn = asyncpg_dsn(stack.new_database())
    admin = await asyncpg.connect(dsn)
    try:
        for table in ("ingest.seen_answers", "privacy.data_keys"):
            # No analyse meanwhile, as when the table grows faster than autovacuum looks.
            await admin.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        conn = Connection(dsn)
        try:
            # Six runs while the tables are empty: from the sixth, a generic plan may be kept.
            for _ in range(6):
                await conn.fetch(_LOOKUP, [uuid.uuid4()], [1], timeout=5)
                await conn.fetch(GET_OR_MINT, ["t"], [uuid.uuid4().hex], [b"k".hex()], timeout=5)
            await admin.execute(
                "INSERT INTO ingest.seen_answers (event_id, version) "
                "SELECT gen_random_uuid(), 1 FROM generate_series(1, 100000)"
            )
            await admin.execute(
                "INSERT INTO privacy.data_keys (tenant, respondent, wrapped) "
                "SELECT 't', md5(i::text), 'k' FROM generate_series(1, 100000) AS i"
            )
            lookup = await plan_of(
                conn, _LOOKUP, f"ARRAY['{uuid.uuid4()}']::uuid[], ARRAY[1]::int[]"
            )
            mint = await plan_of(conn, GET_OR_MINT, "ARRAY['t'], ARRAY['x'], ARRAY['k']")
        finally:
            await conn.close()
    finally:
        await admin.close()
    assert "Seq Scan on seen_answers" not in lookup, lookup
    assert "Seq Scan on data_keys" not in mint, mint
