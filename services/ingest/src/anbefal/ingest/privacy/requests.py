"""Erasure requests and their receipts: ingest owns both (docs/architecture.md, "Erasure and
export").

A request is written with its `ErasureRequested` event in ingest's outbox in one transaction;
every service's report (`ErasureReported`, ingest's own included) comes back over Kafka and is
stored here. The receipt is complete once every service reported.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import topics
from anbefal.common.crypto import Keyring
from anbefal.common.erasure import Subject
from anbefal.common.events import ErasureReported, ErasureRequested
from anbefal.common.outbox import OutboxEvent, enqueue
from anbefal.common.services import SERVICES
from anbefal.ingest.models import OUTBOX, Erasure, ErasureReport

# Every service holds personal data and reports: ingest, scoring, closed-loop, notify.
REPORTING: tuple[str, ...] = tuple(s.name for s in SERVICES)


@dataclass(frozen=True)
class Receipt:
    erasure: Erasure
    reports: dict[str, ErasureReport]

    @property
    def complete(self) -> bool:
        return all(name in self.reports for name in REPORTING)

    @property
    def completed_at(self) -> datetime | None:
        if not self.complete:
            return None
        return max(r.finished_at for r in self.reports.values())


async def request_erasure(
    session: AsyncSession,
    keyring: Keyring,
    tenant: str,
    subject: Subject,
    requested_by: str,
    now: datetime,
) -> Receipt:
    """Record the request and enqueue it for every service, in the caller's transaction."""
    erasure = Erasure(
        id=uuid.uuid4(),
        tenant=tenant,
        named_by="+".join(
            name
            for name, v in (("respondent_id", subject.respondent_id), ("email", subject.email))
            if v
        ),
        requested_by=requested_by,
        requested_at=now,
    )
    session.add(erasure)
    event = ErasureRequested(
        erasure_id=erasure.id,
        tenant=tenant,
        requested_at=now,
        subject=subject.seal(keyring, tenant, erasure.id),
    )
    await enqueue(
        session,
        OUTBOX,
        topics.ERASURES,
        [OutboxEvent(event.erasure_id, tenant, event.key, event.to_bytes())],
    )
    return Receipt(erasure, {})


async def record_reports(session: AsyncSession, reports: Sequence[ErasureReported]) -> None:
    """Store each service's first report of an erasure this ingest knows (a repeated report,
    or one of an erasure whose row is gone, changes nothing)."""
    known = set(
        await session.scalars(
            select(Erasure.id).where(Erasure.id.in_({r.erasure_id for r in reports}))
        )
    )
    rows = [
        {
            "erasure_id": r.erasure_id,
            "service": r.service,
            "rows": r.rows,
            "finished_at": r.finished_at,
        }
        for r in reports
        if r.erasure_id in known
    ]
    if rows:
        await session.execute(insert(ErasureReport).values(rows).on_conflict_do_nothing())


async def receipt(session: AsyncSession, tenant: str, erasure_id: uuid.UUID) -> Receipt | None:
    erasure = await session.scalar(
        select(Erasure).where(Erasure.id == erasure_id, Erasure.tenant == tenant)
    )
    if erasure is None:
        return None
    reports = await session.scalars(
        select(ErasureReport).where(ErasureReport.erasure_id == erasure_id)
    )
    return Receipt(erasure, {r.service: r for r in reports})
