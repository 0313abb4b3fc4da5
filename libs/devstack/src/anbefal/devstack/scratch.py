"""A throwaway PostgreSQL and Kafka broker, for the test suite and the benchmarks."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from anbefal.devstack.kafka import KafkaBroker, start_kafka
from anbefal.devstack.postgres import PostgresServer, start_postgres
from anbefal.devstack.testing import free_port


@contextlib.contextmanager
def scratch_servers(root: Path) -> Iterator[tuple[PostgresServer, KafkaBroker]]:
    """PostgreSQL and Kafka on free ports, their data under a fresh `root`. Both are stopped on
    the way out; `root` is removed only when the block did not raise, so a crash leaves the
    servers' logs to read."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    postgres = start_postgres(root / "postgres", free_port())
    try:
        kafka = start_kafka(root / "kafka", free_port(), free_port())
    except BaseException:
        postgres.stop()
        raise
    try:
        yield postgres, kafka
    finally:
        kafka.stop()
        postgres.stop()
    shutil.rmtree(root, ignore_errors=True)
