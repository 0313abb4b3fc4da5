"""Deliveries that fail verification: a sampled, capped line each, never the body, their own
rate per client address and per source; and every in-memory table keyed by what arrives is
bounded."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from anbefal.common.errors import TooManyRequests, Unauthenticated
from anbefal.common.lru import Lru
from anbefal.devstack.testing import TEST_DATA_KEYS, TEST_JWT_SECRET
from anbefal.ingest.intake.gate import Intake
from anbefal.ingest.intake.ratelimit import RateLimiter
from anbefal.ingest.intake.unverified import Arrival, UnverifiedGate
from anbefal.ingest.rejected import repository as rejected_repository
from anbefal.ingest.settings import IngestSettings
from anbefal.ingest.sources import repository as sources_repository


class FakeSession:
    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[None]:
        yield None


@contextlib.asynccontextmanager
async def fake_session() -> AsyncIterator[FakeSession]:
    yield FakeSession()


@pytest.fixture
def noted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []

    async def note_unverified(session: Any, line: Any) -> None:
        lines.append({c: getattr(line, c) for c in FIELDS})

    monkeypatch.setattr(rejected_repository, "note_unverified", note_unverified)
    return lines


def gate(**settings: Any) -> UnverifiedGate:
    sessionmaker: Any = fake_session
    return UnverifiedGate(IngestSettings(jwt_secret=TEST_JWT_SECRET, **settings), sessionmaker)


FIELDS = (
    "tenant", "source", "client", "status_code", "code", "reason", "size", "count", "user_agent",
)  # fmt: skip
WRONG = Unauthenticated("Typeform-Signature does not match the body", code="bad_signature")


async def test_a_wrong_secret_leaves_one_line_a_minute_without_body_or_id(
    noted: list[dict[str, Any]],
) -> None:
    unverified = gate(ingest_unverified_burst=1000)
    for _ in range(40):
        arrival = Arrival("acme", "typeform", "203.0.113.9", 50_000, "Typeform Webhooks")
        answer = await unverified.refuse(arrival, WRONG)
        assert answer.status_code == 401
        body = orjson.loads(bytes(answer.body))
        assert "rejected_id" not in body
        assert body["error"]["code"] == "bad_signature"
    (line,) = noted
    assert line == {
        "tenant": "acme", "source": "typeform", "client": "203.0.113.9", "status_code": 401,
        "code": "bad_signature", "reason": "Typeform-Signature does not match the body",
        "size": 50_000, "count": 1, "user_agent": "Typeform Webhooks",
    }  # fmt: skip
    # The next line, a minute later, stands for the deliveries in between.
    assert unverified.take_sample(("acme", "typeform", "203.0.113.9", "bad_signature"), 1e9) == 40


async def test_invented_tenants_write_a_trickle_in_all(noted: list[dict[str, Any]]) -> None:
    unverified = gate(
        ingest_unverified_burst=100_000, ingest_unverified_records_burst=10,
        ingest_memory_max_keys=1000,
    )  # fmt: skip
    for n in range(5000):
        await unverified.refuse(
            Arrival(f"nobody-{n}", "x", f"198.51.100.{n % 250}", 10, None), WRONG
        )
    assert len(noted) == 10  # the cap on lines, not one per invented tenant
    assert len(unverified.by_client) <= 1000
    assert len(unverified.by_source) <= 1000


async def test_unverified_traffic_has_its_own_rate_per_client_and_per_source(
    noted: list[dict[str, Any]],
) -> None:
    unverified = gate(ingest_unverified_burst=5, ingest_unverified_rate_per_s=0.01)

    async def junk(client: str, source: str) -> int:
        try:
            return (
                await unverified.refuse(Arrival("acme", source, client, 1, None), WRONG)
            ).status_code
        except TooManyRequests as exc:
            return exc.status if int(exc.headers["Retry-After"]) >= 1 else -1

    assert [await junk("203.0.113.1", f"s{n}") for n in range(7)] == [401] * 5 + [429] * 2
    # Another address, one source: the source's own bucket.
    assert [await junk(f"203.0.113.{n + 2}", "hooked") for n in range(7)] == [401] * 5 + [429] * 2


def test_the_tenant_budget_is_untouched_by_unverified_traffic() -> None:
    settings = IngestSettings(jwt_secret=TEST_JWT_SECRET, data_keys=TEST_DATA_KEYS)
    sessionmaker: Any = fake_session
    intake = Intake(settings, RateLimiter(1, 3), sessionmaker, settings.keyring())
    assert intake.unverified.by_client is not intake.limiter
    assert intake.unverified.by_source is not intake.limiter


def test_lru_and_rate_buckets_are_bounded() -> None:
    lru: Lru[str, int] = Lru(3)
    for n in range(10):
        lru.put(str(n), n)
    assert len(lru) == 3
    assert lru.get("0") is None
    assert lru.get("9") == 9
    limiter = RateLimiter(1, 1, max_keys=100)
    for n in range(10_000):
        limiter.acquire(f"tenant-{n}")
    assert len(limiter) == 100


async def test_cached_unknown_sources_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:

    async def load(session: Any, keyring: Any, tenant: str, name: str) -> None:
        return None

    monkeypatch.setattr(sources_repository, "load", load)
    settings = IngestSettings(
        jwt_secret=TEST_JWT_SECRET, data_keys=TEST_DATA_KEYS, ingest_memory_max_keys=50
    )
    intake = Intake.build(settings, fake_session)  # type: ignore[arg-type]
    for n in range(500):
        assert await intake.source(f"nobody-{n}", "x") is None
    assert len(intake._sources) == 50
