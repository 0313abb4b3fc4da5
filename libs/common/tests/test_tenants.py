"""The shared tenant projection against PostgreSQL: a service's table keeps the settings columns
it declares, the last of several settings of one tenant wins, unknown tenants are absent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from anbefal.common.db import create_engine, create_sessionmaker, service_metadata
from anbefal.common.events import TenantSettings
from anbefal.common.tenants import TenantProjection

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 20, 8, 15, tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = service_metadata("tenants_test")


class Tenant(Base):
    __tablename__ = "tenants"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    follow_up_days: Mapped[int] = mapped_column(Integer)


def settings(tenant: str, follow_up_days: int) -> TenantSettings:
    return TenantSettings(
        tenant=tenant, display_name=tenant, updated_at=NOW, follow_up_days=follow_up_days
    )


def test_a_column_that_is_no_setting_is_refused() -> None:
    class Odd(Base):
        __tablename__ = "odd"

        tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
        colour: Mapped[str] = mapped_column(String(20))

    with pytest.raises(ValueError, match="colour"):
        TenantProjection(Odd)


async def test_settings_are_saved_and_loaded_back(stack: Any) -> None:
    engine = create_engine(stack.new_database(), pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE SCHEMA IF NOT EXISTS tenants_test"))
            await conn.run_sync(Tenant.metadata.create_all, tables=[Tenant.__table__])
        projection = TenantProjection(Tenant)
        sessions = create_sessionmaker(engine)
        async with sessions() as session, session.begin():
            await projection.save(session, [settings("acme", 3), settings("acme", 7)])
            await projection.save(session, [settings("beta", 5)])
        async with sessions() as session, session.begin():
            await projection.save(session, [settings("beta", 9)])
        async with sessions() as session:
            loaded = await projection.load(session, {"acme", "beta", "gamma"})
        assert {t: (r.follow_up_days, r.time_zone) for t, r in loaded.items()} == {
            "acme": (7, "Europe/Copenhagen"),
            "beta": (9, "Europe/Copenhagen"),
        }
    finally:
        await engine.dispose()
