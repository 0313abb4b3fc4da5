"""What a running service holds, and what it runs beside its routes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from anbefal.common.db import ConsumerTables
from anbefal.common.kafka import ConsumerLoop, Publisher, Subscriptions
from anbefal.common.services import Service
from anbefal.common.settings import BaseServiceSettings

SettingsT = TypeVar("SettingsT", bound=BaseServiceSettings, covariant=True)
StateT = TypeVar("StateT", covariant=True)

WorkerFn = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
ScrapeFn = Callable[[AsyncConnection], Awaitable[None]]


@dataclass(frozen=True)
class Runtime(Generic[SettingsT]):
    """The infrastructure every service starts with, typed by the service's own settings."""

    name: str
    settings: SettingsT
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    publisher: Publisher


@dataclass(frozen=True)
class Wiring(Generic[StateT]):
    """What a service builds from its runtime: the state its routes reach (through its own
    `dependencies.py`), and what it runs beside them: consumer loops and background workers."""

    state: StateT
    consumers: Sequence[ConsumerLoop] = ()
    workers: Sequence[WorkerFn] = ()
    # Refresh gauges that are counted in the database, on each /metrics scrape.
    on_scrape: Sequence[ScrapeFn] = ()


def service_consumer(
    runtime: Runtime[BaseServiceSettings],
    service: Service,
    subscriptions: Subscriptions[Any],
    tables: ConsumerTables,
    max_records: int = 500,
) -> ConsumerLoop:
    """The service's consumer loop, configured from its settings (group `<prefix>-<group>`, the
    registry's stored group suffix).

    `max_records`: records per poll (scoring takes more: its cost is per transaction)."""
    settings = runtime.settings
    return ConsumerLoop(
        group_id=service.group_id(settings.group_prefix),
        subscriptions=subscriptions,
        bootstrap=settings.kafka(),
        sessionmaker=runtime.sessionmaker,
        tables=tables,
        publisher=runtime.publisher,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        max_poll_interval_ms=settings.consumer_max_poll_interval_ms,
        watchdog_s=settings.consumer_watchdog_s,
        max_records=max_records,
    )
