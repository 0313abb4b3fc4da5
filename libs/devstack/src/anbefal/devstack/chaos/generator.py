"""The load: generators that post answers to ingest and record what each request got back."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from anbefal.common.auth import issue_token
from anbefal.common.events import GENERIC_API, response_event_id
from anbefal.devstack import surveytools
from anbefal.devstack.surveytools import TYPEFORM_FORM_ID
from anbefal.devstack.testing import TEST_JWT_SECRET


@dataclass
class Outcome:
    response_id: str
    status: int | None  # None: no answer (connection error or timeout): outcome unknown
    attempts: int


@dataclass
class Generator:
    """Posts answers to the generic API and records what each request got back."""

    ingest_url: str
    tenant: str
    retry: bool = False  # retry 503s and connection errors, as survey tools do
    retry_for_s: float = 180.0
    concurrency: int = 8
    # Answers per second (first posts; retries follow Retry-After). None: each of the
    # `concurrency` senders posts again as soon as it has its answer, which keeps the machine
    # saturated; a rate keeps it below that, so latency is the system's and not a queue's.
    rate: float | None = None
    history: list[Outcome] = field(default_factory=list)
    duplicates_sent: int = 0

    @property
    def url(self) -> str:
        return f"{self.ingest_url}/v1/tenants/{self.tenant}/responses"

    def headers(self) -> dict[str, str]:
        token = issue_token(TEST_JWT_SECRET, tenant=self.tenant, role="ingest", sub="chaos")
        return {"Authorization": f"Bearer {token}"}

    @staticmethod
    def body(response_id: str, i: int) -> dict[str, Any]:
        # Spread over the last three days (scoring's buckets), all young enough to be routed.
        answered = datetime.now(UTC) - timedelta(minutes=i % 3989)
        return {
            "response_id": response_id,
            "score": i % 11,
            "comment": "chaos",
            "answered_at": answered.isoformat(),
            "respondent": {"id": f"c-{i}", "email": f"{response_id}@example.com"},
            "segments": {"department": f"d{i % 5}", "country": ("DK", "SE", "NO")[i % 3]},
            "owners": {"director": "director@chaos.example"},
        }

    def event_id(self, response_id: str) -> uuid.UUID:
        return response_event_id(self.tenant, GENERIC_API, response_id)

    async def _request(self, client: httpx.AsyncClient, response_id: str, i: int) -> httpx.Response:
        return await client.post(self.url, json=self.body(response_id, i))

    async def _post(self, client: httpx.AsyncClient, response_id: str, i: int) -> Outcome:
        deadline = time.monotonic() + self.retry_for_s
        attempts = 0
        while True:
            attempts += 1
            try:
                r = await self._request(client, response_id, i)
                status: int | None = r.status_code
                wait = float(r.headers.get("Retry-After", "1"))
            except httpx.HTTPError:
                status, wait = None, 0.5
            # 429 and 5xx are "try again later" to a survey tool; other answers are final.
            if status is not None and status < 500 and status != 429:
                return Outcome(response_id, status, attempts)
            if not self.retry or time.monotonic() > deadline:
                return Outcome(response_id, status, attempts)
            await asyncio.sleep(min(wait, 2.0))

    def ids(self, start: int, count: int) -> list[tuple[str, int]]:
        return [(f"r-{i}", i) for i in range(start, start + count)]

    async def send(
        self, items: Iterable[tuple[str, int]], *, duplicate_share: float = 0.1, seed: int = 7
    ) -> None:
        """Post every item once, plus a share of re-posts of items already answered 2xx."""
        rng = random.Random(seed)
        queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)

        pace = Pace(self.rate)

        async def worker(client: httpx.AsyncClient) -> None:
            while not queue.empty():
                response_id, i = queue.get_nowait()
                await pace.turn()
                outcome = await self._post(client, response_id, i)
                self.history.append(outcome)
                if outcome.status == 202 and rng.random() < duplicate_share:
                    # A survey tool that did not see our 202 sends the same answer again.
                    self.duplicates_sent += 1
                    self.history.append(await self._post(client, response_id, i))

        async with httpx.AsyncClient(headers=self.headers(), timeout=10) as client:
            await asyncio.gather(*(worker(client) for _ in range(self.concurrency)))

    @property
    def acknowledged(self) -> set[str]:
        return {o.response_id for o in self.history if o.status is not None and o.status < 300}

    @property
    def attempted(self) -> set[str]:
        return {o.response_id for o in self.history}


class Pace:
    """Start times `1/rate` apart, shared by concurrent senders (none: no wait)."""

    def __init__(self, rate: float | None) -> None:
        self._interval = 1 / rate if rate else 0.0
        self._next = time.monotonic()

    async def turn(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        start = max(self._next, now)
        self._next = start + self._interval
        await asyncio.sleep(start - now)


@dataclass
class Attempt:
    """One request of a `TimedGenerator`."""

    response_id: str
    started: float  # time.monotonic()
    answered: float
    status: int | None  # None: no answer (connection error, timeout)
    retry_after: str | None = None


@dataclass
class TimedGenerator(Generator):
    """A generator that also keeps each attempt's send and answer times and Retry-After, for
    the faults whose promise is about when answers came (prompt 503s, none acknowledged while
    a part was down)."""

    attempts: list[Attempt] = field(default_factory=list)

    async def _request(self, client: httpx.AsyncClient, response_id: str, i: int) -> httpx.Response:
        started = time.monotonic()
        try:
            r = await self._untimed(client, response_id, i)
        except httpx.HTTPError:
            self.attempts.append(Attempt(response_id, started, time.monotonic(), None))
            raise
        self.attempts.append(
            Attempt(
                response_id, started, time.monotonic(), r.status_code, r.headers.get("Retry-After")
            )
        )
        return r

    async def _untimed(self, client: httpx.AsyncClient, response_id: str, i: int) -> httpx.Response:
        """The request itself (a subclass posts another body the same way)."""
        return await Generator._request(self, client, response_id, i)

    def redelivery(self, attempt: Attempt) -> bool:
        """Whether an earlier attempt at the same answer was acknowledged before this began."""
        return any(
            a.response_id == attempt.response_id
            and a.status is not None
            and a.status < 300
            and a.answered < attempt.started
            for a in self.attempts
        )

    def between(self, start: float, end: float) -> list[Attempt]:
        """Attempts answered in [start, end]."""
        return [a for a in self.attempts if start <= a.answered <= end]

    def first_acknowledged(self) -> dict[str, float]:
        """When each answer was first acknowledged."""
        first: dict[str, float] = {}
        for a in self.attempts:
            if a.status is not None and a.status < 300:
                first[a.response_id] = min(first.get(a.response_id, a.answered), a.answered)
        return first

    def new_acknowledgements(self, since: float = float("-inf")) -> list[Attempt]:
        """Attempts sent after `since` and acknowledged, leaving out re-posts of an answer
        already acknowledged before they began: ingest may answer those from its dedupe memory
        without the broker."""
        first = self.first_acknowledged()
        return [
            a
            for a in self.attempts
            if a.started > since
            and a.status is not None
            and a.status < 300
            and first[a.response_id] >= a.started
        ]


@dataclass
class TypeformGenerator(Generator):
    """Posts answers as Typeform deliveries, signed as Typeform signs, to a webhook source."""

    source: str = "typeform"
    secret: str = ""

    @property
    def url(self) -> str:
        return f"{self.ingest_url}/v1/webhooks/{self.tenant}/{self.source}"

    def headers(self) -> dict[str, str]:
        return {}

    def event_id(self, response_id: str) -> uuid.UUID:
        return response_event_id(self.tenant, "typeform", f"{TYPEFORM_FORM_ID}/{response_id}")

    async def _request(self, client: httpx.AsyncClient, response_id: str, i: int) -> httpx.Response:
        signed = surveytools.typeform(self.secret, token=response_id, score=i % 11)
        return await client.post(self.url, content=signed.body, headers=signed.headers)


async def during(load: Awaitable[None], fault: Callable[[], Awaitable[None]]) -> None:
    """Run the fault schedule while the load runs; both must finish."""
    await asyncio.gather(load, fault())
