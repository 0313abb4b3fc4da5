"""Sources' operations: the admin API's, and reading one as the adapters use it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.errors import NotFound, Unprocessable
from anbefal.common.events import GENERIC_API
from anbefal.ingest.intake.gate import Intake
from anbefal.ingest.models import SourceRow
from anbefal.ingest.sources import repository
from anbefal.ingest.sources.config import Source, SourceIn


async def put(
    session: AsyncSession, intake: Intake, tenant: str, name: str, body: SourceIn, *, by: str
) -> SourceRow:
    """Create or replace a source; this copy's cached configuration is dropped at once."""
    if name == GENERIC_API:
        raise Unprocessable(f"{GENERIC_API!r} names the generic API", code="reserved_name")
    source = Source.build(tenant, name, body)
    await repository.upsert_source(
        session,
        tenant=tenant,
        name=name,
        tool=source.tool,
        config=source.public_config(),
        secret=source.secret,
        api_token=source.api_token,
        by=by,
    )
    intake.forget_source(tenant, name)
    row = await repository.get_source(session, tenant, name)
    assert row is not None
    return row


async def sources(session: AsyncSession, tenant: str) -> list[SourceRow]:
    return await repository.list_sources(session, tenant)


async def get(session: AsyncSession, tenant: str, name: str) -> SourceRow:
    row = await repository.get_source(session, tenant, name)
    if row is None:
        raise NotFound(f"no source {name!r}")
    return row


async def delete(session: AsyncSession, intake: Intake, tenant: str, name: str) -> None:
    if not await repository.delete_source(session, tenant, name):
        raise NotFound(f"no source {name!r}")
    intake.forget_source(tenant, name)


async def load(session: AsyncSession, tenant: str, name: str) -> Source | None:
    """The source as the adapters use it (secrets included), or None if there is none."""
    return await repository.load(session, tenant, name)
