"""The fetch worker against a real PostgreSQL and Kafka and a local fake of the tools' APIs: an
internal base URL is never contacted, a trickled, huge or redirected answer is cut off, a stalled
tool holds no row lock and holds up no other tenant, and the tenant reads no wire detail."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.kafka import Publisher
from anbefal.devstack.surveytools import FakeToolApi
from anbefal.devstack.testing import TEST_DATA_KEYS, TEST_JWT_SECRET, asyncpg_dsn, wait_until
from anbefal.ingest.intake.dedupe import DedupeStore
from anbefal.ingest.intake.sealing import SharedSealer
from anbefal.ingest.models import FetchJob, Rejected
from anbefal.ingest.settings import IngestSettings
from anbefal.ingest.sources import repository as sources
from anbefal.ingest.sources.config import Source, SourceIn
from anbefal.ingest.webhooks.fetcher import Fetcher
from anbefal.ingest.webhooks.repository import Queued, add_fetch_job

pytestmark = pytest.mark.integration

SURVEY = "300222"
SM = SourceIn.model_validate(
    {
        "tool": "surveymonkey",
        "secret": "a-long-enough-client-secret-0123456789",
        "client_id": "cid",
        "api_base_url": "https://api.surveymonkey.com/v3",
        "api_token": "api-token",
        "fields": {"score": "q-nps", "comment": "q-why"},
    }
)


@dataclass
class Rig:
    db: async_sessionmaker[AsyncSession]
    dsn: str
    api: FakeToolApi

    async def source(self, tenant: str, base_url: str | None = None) -> None:
        config = Source.build(tenant, "sm", SM).public_config()
        if base_url is not None:  # a row written before the allow-list existed
            config["api_base_url"] = base_url
        async with self.db() as session, session.begin():
            await sources.upsert_source(
                session, Keyring.parse(TEST_DATA_KEYS), tenant=tenant, name="sm",
                tool="surveymonkey", config=config, by="t",
                secret="a-long-enough-client-secret-0123456789", api_token="api-token",
            )  # fmt: skip

    async def job(self, tenant: str, response_id: str) -> int:
        async with self.db() as session, session.begin():
            queued = await add_fetch_job(
                session, tenant=tenant, source="sm", survey_id=SURVEY,
                response_id=response_id, trace_id=uuid.uuid4().hex,
            )  # fmt: skip
            return queued.job_id

    async def jobs(self, tenant: str) -> dict[str, FetchJob]:
        async with self.db() as session:
            rows = await session.scalars(select(FetchJob).where(FetchJob.tenant == tenant))
            return {r.response_id: r for r in rows}

    async def rejected(self, tenant: str) -> list[Rejected]:
        async with self.db() as session:
            return list(await session.scalars(select(Rejected).where(Rejected.tenant == tenant)))


@asynccontextmanager
async def running(stack: Any, *, override: bool = True, **settings: Any) -> AsyncIterator[Rig]:
    api = FakeToolApi(token="api-token").start()
    url = stack.new_database()
    config = IngestSettings(
        jwt_secret=TEST_JWT_SECRET,
        data_keys=TEST_DATA_KEYS,
        database_url=url,
        kafka_bootstrap=stack.kafka.bootstrap,
        ingest_vendor_api_override=api.url if override else None,
        ingest_fetch_poll_s=0.05,
        ingest_fetch_backoff_s=0.05,
        **settings,
    )
    engine = create_engine(url, pool_size=5)
    db = create_sessionmaker(engine)
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="fetcher-test")
    await publisher.start()
    await publisher.wait_ready(30)
    dedupe = DedupeStore(asyncpg_dsn(url))
    sealer = SharedSealer(DataKeys(config.keyring()), asyncpg_dsn(url))
    fetcher = Fetcher(config, db, publisher, dedupe, sealer)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(fetcher.run(stop)), asyncio.create_task(dedupe.run(stop))]
    try:
        yield Rig(db, asyncpg_dsn(url), api)
    finally:
        api.released.set()
        stop.set()
        fetcher.worker.wake()
        await asyncio.gather(*tasks)
        await publisher.stop()
        await engine.dispose()
        api.stop()


def leaks_wire_detail(text: str) -> bool:
    found = re.search(r"answered|\b(404|401|302)\b|127\.0\.0\.1|Error|bytes|within", text)
    return found is not None


async def test_a_connection_queues_any_number_of_fetches(stack: Any) -> None:
    """The queueing insert names the partial unique index it dedupes on. PostgreSQL plans a
    prepared statement generically from its sixth run on one connection; a predicate carried
    in parameters then no longer proves that index applies ("no unique or exclusion
    constraint matching the ON CONFLICT specification"): a replay in CI got 503 so."""
    async with running(stack) as rig:
        tenant = f"t-{uuid.uuid4().hex[:8]}"
        async with rig.db() as session, session.begin():

            async def queue(response_id: str) -> Queued:
                return await add_fetch_job(
                    session, tenant=tenant, source="sm", survey_id=SURVEY,
                    response_id=response_id, trace_id=uuid.uuid4().hex,
                )  # fmt: skip

            queued = [await queue(f"r-{i}") for i in range(10)]
            again = await queue("r-3")
        assert all(q.new for q in queued)
        assert len({q.job_id for q in queued}) == 10
        assert (again.new, again.job_id) == (False, queued[3].job_id)


async def test_an_internal_base_url_is_never_contacted(stack: Any) -> None:
    async with running(stack, override=False) as rig:
        tenant = f"t-{uuid.uuid4().hex[:8]}"
        rig.api.add_surveymonkey(SURVEY, "r-1", 3, "x", "Support")
        await rig.source(tenant, base_url=rig.api.url)
        await rig.job(tenant, "r-1")

        async def given_up() -> bool:
            return (await rig.jobs(tenant))["r-1"].status == "failed"

        await wait_until(given_up, 20, "the fetch given up")
        assert rig.api.requests == []
        (kept,) = await rig.rejected(tenant)
        assert not leaks_wire_detail(kept.reason + str(kept.details)), kept.reason
        assert "api_base_url" in ((await rig.jobs(tenant))["r-1"].last_error or "")  # for ops


async def test_trickled_huge_and_redirected_answers_are_cut_off(stack: Any) -> None:
    async with running(
        stack, ingest_fetch_total_s=1.5, ingest_fetch_max_bytes=1024 * 1024,
        ingest_fetch_max_attempts=1,
    ) as rig:  # fmt: skip
        tenant = f"t-{uuid.uuid4().hex[:8]}"
        await rig.source(tenant)
        for how in ("trickle", "huge", "redirect"):
            rig.api.misbehave[how] = how
            await rig.job(tenant, how)

        async def all_given_up() -> bool:
            return {j.status for j in (await rig.jobs(tenant)).values()} == {"failed"}

        await wait_until(all_given_up, 15, "every misbehaving fetch given up")
        assert "/elsewhere" not in rig.api.requests
        errors = {k: j.last_error or "" for k, j in (await rig.jobs(tenant)).items()}
        assert "no answer within 1.5 s" in errors["trickle"]
        assert "over 1048576 bytes" in errors["huge"]
        assert "answered 302" in errors["redirect"]
        kept = await rig.rejected(tenant)
        assert len(kept) == 3
        assert not any(leaks_wire_detail(k.reason + str(k.details)) for k in kept)


async def test_a_stalled_tool_holds_no_lock_and_no_other_tenant(stack: Any) -> None:
    async with running(stack, ingest_fetch_concurrency=4, ingest_fetch_per_tenant=2) as rig:
        slow, other = f"slow-{uuid.uuid4().hex[:6]}", f"other-{uuid.uuid4().hex[:6]}"
        await rig.source(slow)
        await rig.source(other)
        stalled = [f"stall-{n}" for n in range(3)]
        for response_id in stalled:
            rig.api.misbehave[response_id] = "stall"
            rig.api.add_surveymonkey(SURVEY, response_id, 9, "ok", "Sales")
            await rig.job(slow, response_id)
        rig.api.add_surveymonkey(SURVEY, "quick", 4, "slow support", "Support")
        quick = await rig.job(other, "quick")

        async def other_done() -> bool:
            return (await rig.jobs(other))["quick"].status == "done"

        await wait_until(other_done, 20, "the other tenant's answer fetched")
        jobs = await rig.jobs(slow)
        # The slow tenant has its share in flight; its third job waits for a free slot.
        assert sorted(j.attempts for j in jobs.values()) == [0, 1, 1]
        assert {j.status for j in jobs.values()} == {"pending"}
        conn = await asyncpg.connect(rig.dsn)
        try:  # a fetch in flight holds no row lock (and so no transaction) in PostgreSQL
            locked = await conn.fetch(
                "SELECT id FROM ingest.fetch_jobs WHERE tenant = $1 FOR UPDATE NOWAIT", slow
            )
            assert len(locked) == 3
        finally:
            await conn.close()
        rig.api.released.set()

        async def slow_done() -> bool:
            return {j.status for j in (await rig.jobs(slow)).values()} == {"done"}

        await wait_until(slow_done, 20, "the stalled fetches completed once released")
        assert quick > 0


QX = SourceIn.model_validate(
    {
        "tool": "qualtrics",
        "secret": "a-long-enough-shared-key-0123456789abcdef",
        "api_base_url": "https://fra1.qualtrics.com/API/v3",
        "api_token": "api-token",
        "fields": {"score": "QID1", "comment": "QID2_TEXT"},
    }
)


async def test_a_qualtrics_answer_not_readable_yet_is_fetched_once_it_is(stack: Any) -> None:
    """Qualtrics announces a completed response before its API serves it: a 404 soon after the
    delivery is retried with backoff, and the answer is published once it can be read."""
    async with running(stack, ingest_fetch_not_found_grace_s=120) as rig:
        tenant = f"t-{uuid.uuid4().hex[:8]}"
        async with rig.db() as session, session.begin():
            await sources.upsert_source(
                session, Keyring.parse(TEST_DATA_KEYS), tenant=tenant, name="qx",
                tool="qualtrics", config=Source.build(tenant, "qx", QX).public_config(), by="t",
                secret="a-long-enough-shared-key-0123456789abcdef", api_token="api-token",
            )  # fmt: skip
            await add_fetch_job(
                session, tenant=tenant, source="qx", survey_id="SV_abc123",
                response_id="R_late", trace_id=uuid.uuid4().hex,
            )  # fmt: skip

        async def asked_twice() -> bool:
            return sum("R_late" in path for path in rig.api.requests) >= 2

        await wait_until(asked_twice, 20, "the unreadable answer asked for again")
        assert (await rig.jobs(tenant))["R_late"].status == "pending"
        rig.api.add_qualtrics("SV_abc123", "R_late", 3, "Not yet")

        async def done() -> bool:
            return (await rig.jobs(tenant))["R_late"].status == "done"

        await wait_until(done, 20, "the answer fetched once readable")
        assert await rig.rejected(tenant) == []
