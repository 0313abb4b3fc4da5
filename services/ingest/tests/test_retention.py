"""Refused bodies under a fake clock: kept for the tenant's `rejected_retention_days` (eNPS ones
for `enps_rejected_retention_days`); a tenant without settings gets the deployment's defaults
(`ANBEFAL_INGEST_REJECTED_RETENTION_DAYS`, 30, and `..._ENPS_...`, 7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from anbefal.common import topics
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import TenantSettings
from anbefal.common.kafka import Message
from anbefal.common.retention import RetentionWorker
from anbefal.devstack.testing import TEST_DATA_KEYS, TEST_JWT_SECRET
from anbefal.ingest.handlers import subscriptions
from anbefal.ingest.models import FetchJob, Rejected
from anbefal.ingest.privacy.retention import anonymisers
from anbefal.ingest.rejected.repository import store_rejected
from anbefal.ingest.retention import prune
from anbefal.ingest.settings import IngestSettings

pytestmark = pytest.mark.integration

SETTINGS = IngestSettings(jwt_secret=TEST_JWT_SECRET, data_keys=TEST_DATA_KEYS)


async def test_refused_bodies_go_after_their_tenants_retention(stack: Any) -> None:
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    now = datetime.now(UTC)
    try:
        short = TenantSettings(
            tenant="short", display_name="Short", rejected_retention_days=3,
            enps_rejected_retention_days=1, updated_at=now,
        )  # fmt: skip
        async with db() as session, session.begin():
            message = Message(short, topics.TENANTS, 0, 0, short.key, ())
            await subscriptions(SETTINGS.keyring).dispatch(session, [message])
            for tenant in ("short", "acme"):
                for source, enps in (("nps-src", False), ("enps-src", True)):
                    await store_rejected(
                        session, tenant=tenant, source=source, status_code=422, reason="bad",
                        details=[], headers={}, body=b"{}", verified=True, enps=enps,
                    )  # fmt: skip
        clock = [now]
        retention = RetentionWorker(
            "ingest", db, anonymisers(SETTINGS), interval_s=86_400, clock=lambda: clock[0]
        )

        async def left(after: timedelta) -> list[str]:
            clock[0] = now + after
            while await retention.worker.run_once():
                pass
            async with db() as session:
                rows = await session.execute(select(Rejected.tenant, Rejected.source))
                return sorted(f"{t}/{s}" for t, s in rows)

        everything = ["acme/enps-src", "acme/nps-src", "short/enps-src", "short/nps-src"]
        assert await left(timedelta(hours=12)) == everything
        assert await left(timedelta(days=2)) == everything[:2] + ["short/nps-src"]
        assert await left(timedelta(days=4)) == everything[:2]
        assert await left(timedelta(days=8)) == ["acme/nps-src"]
        assert await left(timedelta(days=31)) == []
    finally:
        await engine.dispose()


async def test_finished_fetch_jobs_go_with_the_dedupe_keys(stack: Any) -> None:
    """A thin webhook's job is its answer's dedupe key: a finished one goes after the dedupe
    retention (a redelivery after that fetches again), a pending one stays until it is done."""
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    now = datetime.now(UTC)
    try:
        async with db() as session, session.begin():
            for response_id, status, age in (
                ("old-done", "done", 8), ("old-failed", "failed", 8), ("old-pending", "pending", 8),
                ("new-done", "done", 6),
            ):  # fmt: skip
                session.add(
                    FetchJob(
                        tenant="acme", source="sm", survey_id="1", response_id=response_id,
                        trace_id="t", status=status, created_at=now - timedelta(days=age),
                    )
                )  # fmt: skip
        async with db() as session, session.begin():
            await prune(session, seen_days=7, now=now)
        async with db() as session:
            left = set(await session.scalars(select(FetchJob.response_id)))
        assert left == {"old-pending", "new-done"}
    finally:
        await engine.dispose()
