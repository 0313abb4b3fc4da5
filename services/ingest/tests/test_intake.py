"""The source cache: requests that miss at the same moment share one lookup."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from anbefal.devstack.testing import TEST_DATA_KEYS, TEST_JWT_SECRET
from anbefal.ingest.intake.gate import Intake
from anbefal.ingest.intake.ratelimit import RateLimiter
from anbefal.ingest.settings import IngestSettings
from anbefal.ingest.sources import repository as sources_repository


@contextlib.asynccontextmanager
async def no_session() -> AsyncIterator[None]:
    yield None


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    state: dict[str, Any] = {"calls": 0, "gate": asyncio.Event()}

    async def get_source(session: None, keyring: object, tenant: str, name: str) -> None:
        state["calls"] += 1
        await state["gate"].wait()
        return None  # unknown source: cached as such

    monkeypatch.setattr(sources_repository, "load", get_source)
    return state


def new_intake() -> Intake:
    settings = IngestSettings(jwt_secret=TEST_JWT_SECRET, data_keys=TEST_DATA_KEYS)
    sessionmaker: Any = no_session
    return Intake(settings, RateLimiter(1000, 1000), sessionmaker, settings.keyring())


async def test_concurrent_misses_share_one_lookup(lookups: dict[str, Any]) -> None:
    intake = new_intake()
    waiting = [asyncio.create_task(intake.source("acme", "typeform")) for _ in range(50)]
    await asyncio.sleep(0)
    lookups["gate"].set()
    assert await asyncio.gather(*waiting) == [None] * 50
    assert lookups["calls"] == 1
    await intake.source("acme", "typeform")  # cached now
    assert lookups["calls"] == 1


async def test_a_caller_going_away_does_not_cancel_the_others(lookups: dict[str, Any]) -> None:
    intake = new_intake()
    first = asyncio.create_task(intake.source("acme", "typeform"))
    second = asyncio.create_task(intake.source("acme", "typeform"))
    await asyncio.sleep(0)
    first.cancel()
    lookups["gate"].set()
    assert await second is None
    assert lookups["calls"] == 1


async def test_a_lookup_begun_before_an_update_is_not_cached(lookups: dict[str, Any]) -> None:
    intake = new_intake()
    stale = asyncio.create_task(intake.source("acme", "typeform"))
    await asyncio.sleep(0)
    intake.forget_source("acme", "typeform")  # the source was changed meanwhile
    lookups["gate"].set()
    await stale
    await intake.source("acme", "typeform")
    assert lookups["calls"] == 2
