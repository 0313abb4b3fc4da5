"""The services' connection pool: a transaction costs its own statements and nothing more, and
a connection the server has closed (a restart, a terminated backend) is never handed out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from anbefal.common.db import asyncpg_dsn, create_engine, create_sessionmaker
from anbefal.devstack.testing import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(stack: Any) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(stack.new_database(), pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


def sent_to_server(engine: AsyncEngine) -> list[str]:
    """The queries each new connection of `engine` sends that asyncpg logs: BEGIN, COMMIT,
    ROLLBACK and a pre-ping's empty statement, which SQLAlchemy's own events do not see."""
    sent: list[str] = []

    def log(record: Any) -> None:
        sent.append(record.query.strip())

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(log)

    return sent


async def test_a_transaction_sends_only_its_own_statements(engine: AsyncEngine) -> None:
    # Every consumer batch and outbox step is one transaction: a ping before each (BEGIN, an
    # empty statement, ROLLBACK) was three more round trips on the path of every record.
    sent = sent_to_server(engine)
    sessions = create_sessionmaker(engine)
    async with sessions() as session, session.begin():
        await session.execute(text("SELECT 1"))  # the pool's connection, made and set up
    sent.clear()
    for _ in range(3):
        async with sessions() as session, session.begin():
            assert await session.scalar(text("SELECT 1")) == 1
    # asyncpg logs the simple-protocol queries (a prepared statement it runs is not logged).
    assert sent == ["BEGIN;", "COMMIT;"] * 3


async def test_a_connection_the_server_closed_is_not_handed_out(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
        raw = await (await session.connection()).get_raw_connection()
        closed_one = raw.driver_connection
    assert closed_one is not None
    # The pool's one connection: its backend is terminated, as a restart of PostgreSQL would.
    admin = await asyncpg.connect(asyncpg_dsn(engine.url.render_as_string(hide_password=False)))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()

    async def closed() -> bool:
        return bool(closed_one.is_closed())

    # Once the client has seen the server close it (as it has long before a restarted server
    # takes connections again), the next checkout must not get it.
    await wait_until(closed, 10, "the client saw its connection closed")
    async with sessions() as session, session.begin():
        assert await session.scalar(text("SELECT pg_backend_pid()")) != pid
