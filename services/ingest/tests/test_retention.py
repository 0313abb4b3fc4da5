"""The pruner under a fake clock: refused bodies go after 30 days, eNPS ones after 7."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.ingest.models import Rejected
from anbefal.ingest.rejected.repository import store_rejected
from anbefal.ingest.retention import prune
from anbefal.ingest.settings import IngestSettings

pytestmark = pytest.mark.integration


async def test_enps_rejected_bodies_are_pruned_sooner(stack: Any) -> None:
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    try:
        async with db() as session, session.begin():
            for source, enps in (("nps-src", False), ("enps-src", True)):
                await store_rejected(
                    session, tenant="acme", source=source, status_code=422, reason="bad",
                    details=[], headers={}, body=b"{}", verified=True, enps=enps,
                )  # fmt: skip
        defaults = IngestSettings.model_fields
        days = {
            "seen_days": defaults["ingest_dedupe_retention_days"].default,
            "rejected_days": defaults["ingest_rejected_retention_days"].default,
            "enps_rejected_days": defaults["ingest_enps_rejected_retention_days"].default,
        }
        assert (days["rejected_days"], days["enps_rejected_days"]) == (30, 7)
        now = datetime.now(UTC)

        async def left(after: timedelta) -> list[str]:
            async with db() as session, session.begin():
                await prune(session, now=now + after, **days)
                return sorted(await session.scalars(select(Rejected.source)))

        assert await left(timedelta(days=6)) == ["enps-src", "nps-src"]
        assert await left(timedelta(days=8)) == ["nps-src"]
        assert await left(timedelta(days=31)) == []
    finally:
        await engine.dispose()
