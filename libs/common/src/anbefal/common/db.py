"""Database plumbing shared by the services: naming convention, engine, and the consumer tables.

Each service owns one PostgreSQL schema. The consumer loop keeps its Kafka offsets and its dead
letters in tables of that schema, so an offset only advances in the transaction that applied
the records' effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

# Stable constraint names, so Alembic migrations can refer to them across databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


@dataclass(frozen=True)
class ConsumerTables:
    offsets: Table
    dead_letters: Table


def consumer_tables(metadata: MetaData) -> ConsumerTables:
    """The offsets and dead-letter tables of one service, in that service's schema."""
    offsets = Table(
        "consumer_offsets",
        metadata,
        Column("group_id", String(200), primary_key=True),
        Column("topic", String(200), primary_key=True),
        Column("partition", Integer, primary_key=True),
        # The offset of the next record to process (Kafka's "committed offset" meaning).
        Column("next_offset", BigInteger, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("group_id", String(200), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("key", LargeBinary, nullable=True),
        Column("value", LargeBinary, nullable=True),
        Column("headers", JSONB, nullable=False),
        Column("error", Text, nullable=False),
        Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("replayed_at", DateTime(timezone=True), nullable=True),
        UniqueConstraint("group_id", "topic", "partition", "offset"),
    )
    return ConsumerTables(offsets=offsets, dead_letters=dead_letters)


async def upsert_latest(
    session: AsyncSession, model: type[Any], rows: Sequence[dict[str, Any]], key: str
) -> None:
    """Insert or update rows by their primary key `key`; of several rows for one key the last
    wins (a batch may carry several versions of, say, a tenant's settings)."""
    if not rows:
        return
    latest = list({row[key]: row for row in rows}.values())
    stmt = insert(model).values(latest)
    updates = {column: stmt.excluded[column] for column in latest[0] if column != key}
    await session.execute(stmt.on_conflict_do_update(index_elements=[key], set_=updates))


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as a DSN asyncpg takes (for the few places that use asyncpg directly)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


# Without these, a database that stops answering without closing the connection (a network
# blackhole, a hung server) stalls every request and consumer batch until the kernel gives up on
# the socket, which takes many minutes: asyncpg waits 60 s to connect and has no limit on a
# query, and the pool waits 30 s for a free connection. With them, the caller gets an error
# (TimeoutError, retried by the consumer loop; a 5xx from an API) in bounded time, and the pool
# heals by itself once the database answers again (measured in tests/faults/test_chaos_network).
CONNECT_TIMEOUT_S = 5.0
# Client-side, per statement (queries, COMMIT). The services' statements take
# milliseconds; a batch that times out is retried, and the offsets' compare-and-set makes a
# COMMIT that landed on the server despite the timeout harmless.
COMMAND_TIMEOUT_S = 10.0
POOL_TIMEOUT_S = 10.0


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=5,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args={"timeout": CONNECT_TIMEOUT_S, "command_timeout": COMMAND_TIMEOUT_S},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
    """A connection the server closed (PostgreSQL restarted, the backend was terminated) is
    not handed out: the pool drops it and checks out another, or connects anew.

    This replaces SQLAlchemy's `pool_pre_ping`, which sends BEGIN, an empty statement and
    ROLLBACK before every checkout: three round trips on the path of every consumer batch and
    outbox step, about 250 µs of the service's CPU each time, with PostgreSQL's on top. A closed
    socket is known without a round trip: the client saw the server go. What a ping would also
    have found, a server that stops answering without closing the connection, the statement's
    own timeout finds (COMMAND_TIMEOUT_S); and a connection that closes between this check and
    its first statement fails that statement with a disconnect error, on which SQLAlchemy
    invalidates the whole pool, and the caller's error is transient (retried by the consumer
    loop, a 503 from an API)."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
