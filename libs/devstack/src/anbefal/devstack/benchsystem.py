"""The whole system for a benchmark: scratch Kafka and PostgreSQL, the four services started as
`make run` starts them (quiet logs), stopped and removed afterwards."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anbefal.common import topics
from anbefal.common.migrations import upgrade_all
from anbefal.devstack.chaos import ChaosSystem
from anbefal.devstack.kafka import create_topics
from anbefal.devstack.paths import state_dir
from anbefal.devstack.scratch import scratch_servers
from anbefal.devstack.testing import TEST_DATA_KEYS, TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS


def service_env(root: Path, bootstrap: str, database_url: str, name: str) -> dict[str, str]:
    """A benchmark's services' settings: its scratch broker and database, the test keys, quiet
    logs, consumer groups prefixed `name`, and no `.env` file read from the working folder."""
    return {
        "ANBEFAL_ENV_FILE": str(root / "no-env-file"),
        "ANBEFAL_KAFKA_BOOTSTRAP": bootstrap,
        "ANBEFAL_DATABASE_URL": database_url,
        "ANBEFAL_JWT_SECRET": TEST_JWT_SECRET,
        "ANBEFAL_DATA_KEYS": TEST_DATA_KEYS,
        "ANBEFAL_UNSUBSCRIBE_KEYS": TEST_UNSUBSCRIBE_KEYS,
        "ANBEFAL_GROUP_PREFIX": name,
        "ANBEFAL_LOG_LEVEL": "WARNING",
        "PATH": os.environ["PATH"],
    }


@asynccontextmanager
async def bench_system(name: str, **env: str) -> AsyncIterator[ChaosSystem]:
    """`name` names the run's folder, database and consumer groups; `env` adds settings."""
    root = state_dir() / "bench" / f"{name}-{uuid.uuid4().hex[:6]}"
    with scratch_servers(root) as (postgres, kafka):
        await create_topics(kafka.bootstrap, topics.ALL_TOPICS)
        postgres.create_database(name)
        url = postgres.url(name)
        await asyncio.to_thread(upgrade_all, url)
        system = ChaosSystem(
            root,
            {**service_env(root, kafka.bootstrap, url, name), **env},
            broker=kafka,
            postgres=postgres,
        )
        try:
            await system.start()
            yield system
        finally:
            system.stop()
