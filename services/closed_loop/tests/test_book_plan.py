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
    yield engine
    await engine.dispose()


async def plan_and_ids(
    engine: AsyncEngine, responses: int, respondents: int
) -> tuple[str, set[uuid.UUID], set[uuid.UUID]]:
    """The plan of a book's read for a batch of `responses` new answers of `respondents`
    known respondents (and three ids); the ids it should find and those it found."""
    async with engine.begin() as conn:
        ids = await conn.execute(text("SELECT action_id FROM closed_loop.actions LIMIT 3"))
        known = {row[0] for row in ids}
        keys = [f"k{n}" for n in range(1, respondents + 1)]
        params = {
            "responses": [uuid.uuid4() for _ in range(responses)],
            "ids": list(known),
            "tenants": [f"t{n % 5}" for n in range(1, respondents + 1)],
            "keys": keys,
        }
        wanted = known | {
            row[0]
            for row in await conn.execute(
                text("SELECT action_id FROM closed_loop.actions WHERE respondent_key = ANY(:k)"),
                {"k": keys},
            )
        }
        plan = "\n".join(
            row[0]
            for row in await conn.execute(text(f"EXPLAIN {_LOCKED.text}"), params)  # noqa: S608
        )
        found = {row.action_id for row in await conn.execute(_LOCKED, params)}
    return plan, wanted, found


async def test_a_batch_s_book_is_read_by_index_not_by_scanning_every_action(
    engine: AsyncEngine,
) -> None:
    """A deadline day stores hundreds of thousands of actions; a batch that read them all to
    find its own few would cost more with every answer before it."""
    plan, wanted, found = await plan_and_ids(engine, responses=1, respondents=2)
    assert found == wanted
    assert "Seq Scan on actions" not in plan, plan


async def test_a_full_batch_s_book_is_read_by_index_too(engine: AsyncEngine) -> None:
    """A consumer batch holds up to 2,000 answers of as many respondents: with that many the
    planner preferred hashing the whole table to 2,000 index lookups, and the deadline day's
    batches again cost more with every action stored before them."""
    plan, wanted, found = await plan_and_ids(engine, responses=2000, respondents=2000)
    assert found == wanted
    assert "Seq Scan on actions" not in plan, plan
