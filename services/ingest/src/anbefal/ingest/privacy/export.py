"""ingest's part of a person's export: the refused bodies that name them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.app.privacy import records
from anbefal.common.crypto import Keyring
from anbefal.common.erasure import Subject
from anbefal.ingest.models import Rejected
from anbefal.ingest.privacy.erasure import naming


async def collect(
    session: AsyncSession, tenant: str, subject: Subject, keyring: Keyring
) -> dict[str, list[dict[str, Any]]]:
    rejected = await session.scalars(
        select(Rejected).where(naming(tenant, subject)).order_by(Rejected.id)
    )
    return {"rejected": records(rejected)}
