"""Suite-wide fixtures: a real Kafka broker and a real PostgreSQL, started once per test run.

Nothing is skipped for lack of them: if they cannot start, the tests that need them error out
with the reason.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import topics
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.migrations import upgrade_all
from anbefal.devstack.kafka import KafkaBroker, create_topics
from anbefal.devstack.paths import state_dir
from anbefal.devstack.postgres import PostgresServer
from anbefal.devstack.scratch import scratch_servers
from anbefal.devstack.testing import TEST_DATA_KEYS, TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS


@pytest.fixture(scope="session", autouse=True)
def _no_developer_env_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The CLI runs in this process in many tests, and its start-up loads `.local/anbefal.env`
    into the environment; a developer's file (written by `make run`) must not leak their secrets
    and addresses into the suite, so the whole run points the CLI at a file that does not exist."""
    previous = os.environ.get("ANBEFAL_ENV_FILE")
    os.environ["ANBEFAL_ENV_FILE"] = str(tmp_path_factory.mktemp("env") / "no-env-file")
    yield
    if previous is None:
        os.environ.pop("ANBEFAL_ENV_FILE", None)
    else:
        os.environ["ANBEFAL_ENV_FILE"] = previous


@dataclass
class Stack:
    root: Path
    kafka: KafkaBroker
    postgres: PostgresServer

    def new_database(self) -> str:
        """A fresh, migrated database; returns its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.postgres.create_database(name)
        url = self.postgres.url(name)
        upgrade_all(url)
        return url

    def service_env(self, database_url: str, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "ANBEFAL_ENV_FILE": str(self.root / "no-env-file"),
            "ANBEFAL_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "ANBEFAL_DATABASE_URL": database_url,
            "ANBEFAL_JWT_SECRET": TEST_JWT_SECRET,
            "ANBEFAL_DATA_KEYS": TEST_DATA_KEYS,
            "ANBEFAL_UNSUBSCRIBE_KEYS": TEST_UNSUBSCRIBE_KEYS,
            "ANBEFAL_GROUP_PREFIX": f"t{uuid.uuid4().hex[:8]}",
            "ANBEFAL_CONSUMER_SESSION_TIMEOUT_MS": "6000",
            "ANBEFAL_LOG_JSON": "true",
        }
        env.update(extra)
        return env


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    root = state_dir() / "test" / f"run-{os.getpid()}"
    with scratch_servers(root) as (postgres, kafka):
        asyncio.run(create_topics(kafka.bootstrap, topics.ALL_TOPICS))
        yield Stack(root=root, kafka=kafka, postgres=postgres)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(__file__).parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
async def db(stack: Stack) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a new database with every service's schema, for one test."""
    engine = create_engine(stack.new_database(), pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()
