"""Sealing answers in flight together: one round trip for the requests that arrive while one
runs, each request getting its own answers back sealed with its own respondent's key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from anbefal.common.contact import open_events
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import SurveyResponse
from anbefal.devstack.testing import TEST_DATA_KEYS, asyncpg_dsn
from anbefal.ingest.intake.pipeline import to_event
from anbefal.ingest.intake.sealing import SharedSealer
from anbefal.ingest.schemas import ResponseIn

pytestmark = pytest.mark.integration

KEYS = DataKeys(Keyring.parse(TEST_DATA_KEYS))


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


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement sent on the connections asyncpg opens during the test."""
    sent: list[str] = []
    connect = asyncpg.connect

    async def logged(*args: Any, **kwargs: Any) -> asyncpg.Connection:
        conn = await connect(*args, **kwargs)
        conn.add_query_logger(lambda q: sent.append(q.query))
        return conn

    monkeypatch.setattr(asyncpg, "connect", logged)
    return sent


async def opened(url: str, events: list[SurveyResponse]) -> list[str | None]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return [e.respondent.email for e in await open_events(session, KEYS, events)]
    finally:
        await engine.dispose()


async def test_requests_in_flight_share_one_sealing_round_trip(
    stack: Any, queries: list[str]
) -> None:
    url = stack.new_database()
    queries.clear()  # the database's migrations
    sealer = SharedSealer(KEYS, asyncpg_dsn(url))
    try:
        requests = [[answer(n, f"k{n}@example.com")] for n in range(20)]
        requests.append([answer(100, None), answer(101, "k101@example.com")])
        sealed = await asyncio.gather(*(sealer.seal(events) for events in requests))
        # Asked for together: one statement (not one per request).
        assert len(queries) == 1
        for events, back in zip(requests, sealed, strict=True):
            assert [e.event_id for e in back] == [e.event_id for e in events]
            assert all(e.respondent.email is None for e in back)  # sealed, not in the clear
            assert await opened(url, back) == [e.respondent.email for e in events]
        queries.clear()
        # No contact data, nothing to seal: no round trip at all.
        plain = [answer(200, None, name=None)]
        assert await sealer.seal(plain) == plain
        assert queries == []
        # One at a time, each has a round trip of its own at once (no waiting for company).
        await sealer.seal([answer(300, "k300@example.com")])
        assert len(queries) == 1
    finally:
        await sealer.close()


async def test_sealing_is_one_round_trip_for_new_and_known_respondents(
    stack: Any, queries: list[str]
) -> None:
    """At a steady low rate each request seals alone, so its fixed cost is what a webhook
    pays: one statement that mints the missing keys and reads the known ones, not a
    transaction of five."""
    url = stack.new_database()
    queries.clear()  # the database's migrations
    sealer = SharedSealer(KEYS, asyncpg_dsn(url))
    try:
        first = await sealer.seal([answer(1, "k1@example.com")])
        assert len(queries) == 1
        again = await sealer.seal([answer(1, "k1@example.com"), answer(2, "k2@example.com")])
        assert len(queries) == 2
        assert await opened(url, [*first, *again]) == [
            "k1@example.com",
            "k1@example.com",
            "k2@example.com",
        ]
    finally:
        await sealer.close()


async def test_a_key_minted_by_another_copy_meanwhile_is_the_one_used(stack: Any) -> None:
    """Two copies of ingest seal the same new respondent at once: both use the key that was
    stored, whichever minted it."""
    url = stack.new_database()
    copies = [SharedSealer(KEYS, asyncpg_dsn(url)) for _ in range(2)]
    try:
        for n in range(10):
            events = [answer(1000 + n, f"k{n}@example.com")]
            both = await asyncio.gather(*(copy.seal(events) for copy in copies))
            assert await opened(url, [*both[0], *both[1]]) == [f"k{n}@example.com"] * 2
    finally:
        for copy in copies:
            await copy.close()
