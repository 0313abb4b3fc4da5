"""How long ingest keeps refused bodies: the tenant's `rejected_retention_days`, sooner for a
body holding eNPS answers (`enps_rejected_retention_days`); a tenant whose settings never came
gets the deployment's defaults (`ANBEFAL_INGEST_REJECTED_RETENTION_DAYS`,
`ANBEFAL_INGEST_ENPS_REJECTED_RETENTION_DAYS`). Then they are deleted: ops had their time with
them, and nothing is counted from them (common/retention.py runs this daily)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.retention import Anonymiser, Expiry
from anbefal.ingest.models import Rejected, Tenant
from anbefal.ingest.settings import IngestSettings


async def forget(session: AsyncSession, rows: Sequence[Rejected]) -> None:
    await session.execute(delete(Rejected).where(Rejected.id.in_([r.id for r in rows])))


def anonymisers(settings: IngestSettings) -> Mapping[str, Anonymiser]:
    enps_days = settings.ingest_enps_rejected_retention_days
    return {
        "rejected": Expiry(
            Rejected, Tenant, "rejected_retention_days", Rejected.received_at, (), forget,
            default=settings.ingest_rejected_retention_days,
        ),
        "enps_rejected": Expiry(
            Rejected, Tenant, "enps_rejected_retention_days", Rejected.received_at,
            (Rejected.enps.is_(True),), forget, default=enps_days,
        ),
    }  # fmt: skip
