from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.ingest.models import Rejected

# Headers worth keeping with a rejected body; never the Authorization header.
_KEPT_HEADERS = ("content-type", "user-agent", "content-length", "webhook-id", "x-request-id")


async def store_rejected(
    session: AsyncSession,
    *,
    tenant: str,
    source: str,
    status_code: int,
    reason: str,
    details: list[dict[str, Any]],
    headers: dict[str, str],
    body: bytes,
) -> int:
    row = Rejected(
        tenant=tenant,
        source=source,
        status_code=status_code,
        reason=reason,
        details=details,
        headers={k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS},
        body=body,
    )
    session.add(row)
    await session.flush()
    return row.id
