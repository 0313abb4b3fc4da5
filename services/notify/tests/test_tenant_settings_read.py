"""Reading a tenant's settings takes no lock: the settings page or the API reading them never
waits for a change in progress, nor holds one up."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from anbefal.common.auth import Principal
from anbefal.notify.tenants import repository, service

TENANT = "acme"


async def test_settings_are_read_while_a_change_holds_the_row(api: Any) -> None:
    admin = Principal(tenant=TENANT, role="admin", sub="ada@acme.example")
    async with api.maker() as session, session.begin():
        await service.change(session, TENANT, {"follow_up_days": 5}, by=admin)
    async with api.maker() as changing, changing.begin():
        assert (
            await repository.stored(changing, TENANT, lock=True) is not None
        )  # a change in progress
        async with api.maker() as reading, reading.begin():
            # A read that waited for the row would fail here rather than hang the test.
            await reading.execute(text("SET LOCAL lock_timeout = '1s'"))
            record = await service.get(reading, TENANT)
    assert record.follow_up_days == 5
