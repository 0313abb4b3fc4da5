"""Start-up waits: a service starts only once PostgreSQL and Kafka answer."""

from __future__ import annotations

import asyncio
import sys
import time

import asyncpg

from anbefal.common.db import asyncpg_dsn


async def ensure_database(url: str, timeout: float) -> None:
    """Wait for the server, and create the database if it does not exist yet (development)."""
    dsn = asyncpg_dsn(url)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            conn = await asyncpg.connect(dsn, timeout=3)
            await conn.close()
            return
        except asyncpg.InvalidCatalogNameError:
            base, _, name = dsn.rpartition("/")
            admin = await asyncpg.connect(f"{base}/postgres", timeout=3)
            try:
                await admin.execute(f'CREATE DATABASE "{name}"')
            except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                # several services start at once; one of them wins the race
                pass
            finally:
                await admin.close()
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            last = exc
            await asyncio.sleep(0.5)
    raise SystemExit(f"PostgreSQL at {url} did not answer within {timeout:.0f}s: {last!r}")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
