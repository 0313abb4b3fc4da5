"""A digest that cannot read its figures waits for the next poll rather than going out empty."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.devstack.testing import (
    TEST_DATA_KEYS,
    TEST_JWT_SECRET,
    TEST_UNSUBSCRIBE_KEYS,
    free_port,
)
from anbefal.notify.digest.schedule import period
from anbefal.notify.digest.service import send_due
from anbefal.notify.models import Email, Tenant
from anbefal.notify.settings import NotifySettings

pytestmark = pytest.mark.integration


async def test_scoring_down_means_no_digest_yet(
    db: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "ANBEFAL_JWT_SECRET": TEST_JWT_SECRET, "ANBEFAL_DATA_KEYS": TEST_DATA_KEYS,
        "ANBEFAL_UNSUBSCRIBE_KEYS": TEST_UNSUBSCRIBE_KEYS,
        "ANBEFAL_SCORING_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "ANBEFAL_DASHBOARD_API_TIMEOUT_S": "2",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    settings = NotifySettings()
    async with db() as session, session.begin():
        await session.execute(
            insert(Tenant).values(
                tenant="acme", display_name="Acme", locale="da",
                digest_recipients=["leder@acme.example"],
            )
        )  # fmt: skip
    when = period(datetime.now(UTC), time_zone="Europe/Copenhagen", every_days=14, hour=8)
    async with db() as session, session.begin():
        assert await send_due(session, settings, when.send_at) == 0
        assert await session.scalar(select(func.count()).select_from(Email)) == 0
