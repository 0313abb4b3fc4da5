"""Every service's part of a data subject access export: one admin route, the same everywhere.

`GET /v1/tenants/{tenant}/privacy/export?respondent_id=...&email=...` answers
`{"service": ..., "tables": {table: [row, ...]}}` with what that service holds of the person;
`anbefal privacy export` reads the four parts with the caller's token and prints them as one
document. Each export is recorded in the audit trail by the service that made it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import Table, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import audit
from anbefal.common.auth import Principal, Role
from anbefal.common.crypto import Keyring
from anbefal.common.deps import RuntimeDep, SessionDep, TenantPath, allow
from anbefal.common.erasure import Subject
from anbefal.common.errors import Unprocessable

# What a service collects: its tables' rows about the subject, by table name (the keyring finds
# keyed hashes).
Collector = Callable[
    [AsyncSession, str, Subject, Keyring], Awaitable[dict[str, list[dict[str, Any]]]]
]


class ExportPart(BaseModel):
    service: str
    tables: dict[str, list[dict[str, Any]]]


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, uuid.UUID | datetime | date):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    return value


def records(rows: Iterable[object]) -> list[dict[str, Any]]:
    """ORM rows as JSON-ready dicts of every column (bytes as text, times in ISO 8601)."""
    out = []
    for row in rows:
        mapper = inspect(row).mapper
        out.append({c.key: _plain(getattr(row, c.key)) for c in mapper.column_attrs})
    return out


def export_router(service: str, collect: Collector, outbox: Table) -> APIRouter:
    router = APIRouter(tags=["privacy"])

    @router.get(
        "/v1/tenants/{tenant}/privacy/export",
        summary="What this service holds about one person (admin)",
    )
    async def export(
        tenant: TenantPath,
        session: SessionDep,
        runtime: RuntimeDep,
        principal: Annotated[Principal, allow(Role.ADMIN)],
        respondent_id: Annotated[str | None, Query(max_length=200)] = None,
        email: Annotated[str | None, Query(max_length=320)] = None,
    ) -> ExportPart:
        if not (respondent_id or email):
            raise Unprocessable("name the person: respondent_id, email or both")
        subject = Subject(respondent_id=respondent_id, email=email)
        tables = await collect(session, tenant, subject, runtime.settings.keyring())
        await audit.record(
            session,
            outbox,
            tenant=tenant,
            actor=principal,
            action="export.made",
            target=f"respondent:{respondent_id}" if respondent_id else "respondent:(by email)",
            detail={"service": service, "rows": sum(len(rows) for rows in tables.values())},
        )
        return ExportPart(service=service, tables=tables)

    return router
