"""The kept refusals' operations: listing, showing, and replaying one through its source."""

from __future__ import annotations

import uuid

from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.errors import Conflict, NotFound, ServiceError
from anbefal.common.events import GENERIC_API
from anbefal.ingest.models import Rejected
from anbefal.ingest.rejected import repository
from anbefal.ingest.sources import service as sources
from anbefal.ingest.sources.config import FieldMap, Source
from anbefal.ingest.state import IngestState
from anbefal.ingest.webhooks.adapters.base import Delivery
from anbefal.ingest.webhooks.service import process


async def kept(
    session: AsyncSession,
    tenant: str,
    *,
    limit: int,
    before_id: int | None,
    source: str | None = None,
) -> list[Rejected]:
    return await repository.list_rejected(
        session, tenant, limit=limit, before_id=before_id, source=source
    )


async def get(session: AsyncSession, tenant: str, rejected_id: int) -> Rejected:
    row = await repository.get_rejected(session, tenant, rejected_id)
    if row is None:
        raise NotFound(f"no rejected body {rejected_id}")
    return row


async def replay(
    session: AsyncSession, state: IngestState, tenant: str, rejected_id: int
) -> Response:
    """Run a kept body through its source again (after its configuration was fixed). Only a
    body whose sender was verified on arrival; its signature is not checked again."""
    row = await get(session, tenant, rejected_id)
    if not row.verified:
        raise Conflict(
            "this body's sender was never verified; it cannot be replayed", code="not_verified"
        )
    config: Source | None
    if row.source == GENERIC_API:
        config = Source(
            tenant=tenant,
            name=GENERIC_API,
            tool="generic",
            kind="nps",
            secret="-",
            fields=FieldMap(),
        )
    else:
        config = await sources.load(session, state.intake.keyring, tenant, row.source)
        if config is None:
            raise Conflict(f"source {row.source!r} is not configured", code="no_source")
    delivery = Delivery(body=row.body, headers={k.lower(): v for k, v in row.headers.items()})
    result = await process(state, config, delivery, uuid.uuid4().hex)
    if isinstance(result, ServiceError):
        raise ServiceError(
            422 if result.status < 300 else result.status,
            result.code,
            f"still refused: {result.message}",
            result.details,
        )
    if result.status_code < 300:
        await repository.mark_replayed(session, rejected_id)
    return result
