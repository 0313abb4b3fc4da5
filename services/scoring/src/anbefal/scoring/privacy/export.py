"""scoring's part of a person's export: their NPS answers as scoring keeps them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.app.privacy import records
from anbefal.common.crypto import Keyring
from anbefal.common.erasure import Subject
from anbefal.scoring.models import Answer
from anbefal.scoring.privacy.erasure import naming


async def collect(
    session: AsyncSession, tenant: str, subject: Subject, keyring: Keyring
) -> dict[str, list[dict[str, Any]]]:
    rows = await session.scalars(
        select(Answer).where(naming(keyring, tenant, subject)).order_by(Answer.answered_at)
    )
    return {"answers": records(rows)}
