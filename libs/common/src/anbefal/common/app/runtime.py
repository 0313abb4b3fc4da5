"""What a running service holds, and what it runs beside its routes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from anbefal.common.db import ConsumerTables
from anbefal.common.kafka import BatchHandler, ConsumerLoop, Publisher
from anbefal.common.settings import BaseServiceSettings


@dataclass
class Runtime:
    """What a running service holds; routes reach it through `request.app.state.runtime`."""

    name: str
    settings: BaseServiceSettings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    publisher: Publisher
    consumers: list[ConsumerLoop] = field(default_factory=list)
    on_scrape: list[Callable[[AsyncConnection], Awaitable[None]]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


WorkerFn = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class Wiring:
    """What a service runs beside its HTTP routes: consumer loops and background workers."""

    consumers: list[ConsumerLoop] = field(default_factory=list)
    workers: list[WorkerFn] = field(default_factory=list)
    # Refresh gauges that are counted in the database, on each /metrics scrape.
    on_scrape: list[Callable[[AsyncConnection], Awaitable[None]]] = field(default_factory=list)


def service_consumer(
    runtime: Runtime,
    service: str,
    topic_names: Sequence[str],
    tables: ConsumerTables,
    handler: BatchHandler,
    after_commit: Callable[[], None] | None = None,
    max_records: int = 500,
) -> ConsumerLoop:
    """The service's consumer loop, configured from its settings (group `<prefix>-<service>`).

    `max_records`: records per poll (scoring takes more: its cost is per transaction)."""
    settings = runtime.settings
    return ConsumerLoop(
        group_id=f"{settings.group_prefix}-{service}",
        topic_names=topic_names,
        bootstrap=settings.kafka_bootstrap,
        sessionmaker=runtime.sessionmaker,
        tables=tables,
        handler=handler,
        publisher=runtime.publisher,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        max_poll_interval_ms=settings.consumer_max_poll_interval_ms,
        watchdog_s=settings.consumer_watchdog_s,
        after_commit=after_commit,
        max_records=max_records,
    )
