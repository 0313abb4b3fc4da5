"""Sealing answers in flight together: one transaction for the requests that arrive while one
runs, each request getting its own answers back sealed with its own respondent's key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.contact import open_events
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import SurveyResponse
from anbefal.devstack.testing import TEST_DATA_KEYS
from anbefal.ingest.intake.pipeline import to_event
from anbefal.ingest.intake.sealing import SharedSealer
from anbefal.ingest.schemas import ResponseIn

pytestmark = pytest.mark.integration


def answer(n: int, email: str | None, name: str | None = "Kunde") -> SurveyResponse:
    item = ResponseIn.model_validate(
        {
            "response_id": f"r-{n}",
            "score": n % 11,
            "answered_at": "2026-12-01T10:00:00+01:00",
            "respondent": {"id": f"c-{n}", "name": name, "email": email},
        }
    )
    return to_event("acme", item, datetime.now(UTC))


async def test_requests_in_flight_share_one_sealing_transaction(stack: Any) -> None:
    engine = create_engine(stack.new_database(), pool_size=5)
    sessions = 0
    made = create_sessionmaker(engine)

    @asynccontextmanager
    async def counted() -> AsyncIterator[AsyncSession]:
        nonlocal sessions
        sessions += 1
        async with made() as session:
            yield session

    keys = DataKeys(Keyring.parse(TEST_DATA_KEYS))
    sealer = SharedSealer(keys, counted)  # type: ignore[arg-type]
    try:
        requests = [[answer(n, f"k{n}@example.com")] for n in range(20)]
        requests.append([answer(100, None), answer(101, "k101@example.com")])
        sealed = await asyncio.gather(*(sealer.seal(events) for events in requests))
        # Asked for together: one transaction (not one per request).
        assert sessions == 1
        for events, back in zip(requests, sealed, strict=True):
            assert [e.event_id for e in back] == [e.event_id for e in events]
            async with made() as session:
                opened = await open_events(session, keys, back)
            assert [e.respondent.email for e in opened] == [e.respondent.email for e in events]
            assert all(e.respondent.email is None for e in back)  # sealed, not in the clear
        # No contact data, nothing to seal: no transaction at all.
        plain = [answer(200, None, name=None)]
        assert await sealer.seal(plain) == plain
        assert sessions == 1
        # One at a time, each has a transaction of its own at once (no waiting for company).
        await sealer.seal([answer(300, "k300@example.com")])
        assert sessions == 2
    finally:
        await engine.dispose()
