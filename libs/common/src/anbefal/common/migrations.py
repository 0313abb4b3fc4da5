"""Alembic glue shared by the four services: one schema and one version table per service.

A service's `migrations/env.py` calls `run_env(metadata)`; `upgrade(package, url)` migrates one
service to head. An advisory lock serialises concurrent upgrades (several copies starting at once).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import zlib

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from anbefal.common.services import SERVICES


def run_env(metadata: MetaData) -> None:
    schema = metadata.schema
    assert schema, "each service's metadata names its schema"
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set (anbefal.common.migrations.upgrade sets it)"

    def do_run(connection: Connection) -> None:
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(schema.encode())}
        )
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, _parents: type_ != "schema" or name == schema,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(do_run)
        finally:
            await engine.dispose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(run())
        return
    # Called from async code (a test, a service start-up): run on a loop of its own thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def alembic_config(package: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(package: str, url: str, revision: str = "head") -> None:
    """Migrate one service (`anbefal.scoring`, ...) to `revision`. Blocking: call from a thread."""
    command.upgrade(alembic_config(package, url), revision)


SERVICE_PACKAGES = tuple(s.package for s in SERVICES)


def upgrade_all(url: str) -> None:
    for package in SERVICE_PACKAGES:
        upgrade(package, url)
