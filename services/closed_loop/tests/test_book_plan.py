"""Loading a batch's book looks its actions up by index, however many actions are stored."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from anbefal.closed_loop.action_store import _LOCKED
from anbefal.common.db import create_engine

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def engine(stack: Any) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(stack.new_database(), pool_size=1)
    yield engine
    await engine.dispose()


async def test_a_batch_s_book_is_read_by_index_not_by_scanning_every_action(
    engine: AsyncEngine,
) -> None:
    """A deadline day stores hundreds of thousands of actions; a batch that read them all to
    find its own few would cost more with every answer before it."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO closed_loop.actions (action_id, tenant, response_event_id, rule_id,"
                " type, respondent_key, answered_at, revision, released_revision, cancelled,"
                " payload) SELECT gen_random_uuid(), 't' || (n % 5), gen_random_uuid(), 'r',"
                " 'call', 'k' || n, now(), 1, 0, false, '{}'::jsonb"
                " FROM generate_series(1, 30000) AS n"
            )
        )
        await conn.execute(text("ANALYZE closed_loop.actions"))
        ids = await conn.execute(text("SELECT action_id FROM closed_loop.actions LIMIT 3"))
        known = [row[0] for row in ids]
        params = {
            "responses": [uuid.uuid4()],
            "ids": known,
            "tenants": ["t1", "t2"],
            "keys": ["k1", "k2"],
        }
        plan = "\n".join(
            row[0]
            for row in await conn.execute(text(f"EXPLAIN {_LOCKED.text}"), params)  # noqa: S608
        )
        found = await conn.execute(_LOCKED, params)
        assert {row.action_id for row in found} >= set(known)
    assert "Seq Scan on actions" not in plan, plan
