"""The one projection of tenant settings (`anbefal.tenants.v1`) into a service's own table.

Each consuming service keeps the settings it needs in its own `tenants` table: a `tenant`
primary key and columns named as `TenantSettings` fields. The consumer loop saves every
settings event through the service's projection before any other event of the batch, so a
batch's answers see their tenant's settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from anbefal.common.db import upsert_latest
from anbefal.common.events import TenantSettings

Row = TypeVar("Row", bound=DeclarativeBase)


class TenantProjection(Generic[Row]):
    """Saves tenant settings into `model`'s table and loads them back as `model` rows."""

    def __init__(self, model: type[Row]) -> None:
        table = model.__table__
        names = [column.key for column in table.columns]
        unknown = [n for n in names if n not in TenantSettings.model_fields]
        if "tenant" not in names or unknown:
            raise ValueError(f"{model.__name__}: not a projection of TenantSettings: {unknown}")
        self._model = model
        self._columns = names
        self._tenant = table.c.tenant

    @property
    def model(self) -> type[Row]:
        return self._model

    async def save(self, session: AsyncSession, settings: Sequence[TenantSettings]) -> None:
        """Upsert each tenant's settings; of several in one batch the last wins."""
        rows: list[dict[str, Any]] = [
            {column: getattr(s, column) for column in self._columns} for s in settings
        ]
        await upsert_latest(session, self._model, rows, "tenant")

    async def load(self, session: AsyncSession, tenants: Iterable[str]) -> dict[str, Row]:
        """The stored settings of `tenants`; a tenant whose settings never came is absent."""
        names = set(tenants)
        if not names:
            return {}
        rows = await session.execute(
            select(self._tenant, self._model).where(self._tenant.in_(names))
        )
        return {tenant: row for tenant, row in rows}  # noqa: C416 (dict() takes a Result, which has keys(), for a mapping)
