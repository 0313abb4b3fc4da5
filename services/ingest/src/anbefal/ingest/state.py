"""What ingest's routes share for the life of the process, built once in its wiring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.kafka import Publisher
from anbefal.ingest.intake.dedupe import DedupeStore
from anbefal.ingest.intake.gate import Intake
from anbefal.ingest.intake.sealing import SharedSealer
from anbefal.ingest.settings import IngestSettings


@dataclass(frozen=True)
class IngestState:
    settings: IngestSettings
    sessionmaker: async_sessionmaker[AsyncSession]
    publisher: Publisher
    dedupe: DedupeStore
    # Seals the respondents' contact data before an answer goes to Kafka.
    sealer: SharedSealer
    intake: Intake
    # Wakes the fetch worker when a thin webhook queued a job for it.
    wake_fetcher: Callable[[], None]
