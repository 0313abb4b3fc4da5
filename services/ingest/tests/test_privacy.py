"""ingest's part of an erasure and an export (refused bodies, the data key), and the receipts
it keeps, against PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.crypto import Keyring, key_spec
from anbefal.common.datakeys import DataKeys
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.erasure import Subject
from anbefal.common.events import ErasureReported, erasure_report_id
from anbefal.ingest.models import Rejected
from anbefal.ingest.privacy import erasure, export, requests
from anbefal.ingest.rejected.repository import store_rejected

pytestmark = pytest.mark.integration
KEYRING = Keyring.parse(key_spec("k1", b"k" * 32))


@pytest.fixture
async def db(stack: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(stack.new_database(), pool_size=1)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def refuse(session: AsyncSession, tenant: str, body: bytes) -> None:
    await store_rejected(
        session, tenant=tenant, source="api", status_code=422, reason="bad", details=[],
        headers={}, body=body, verified=True,
    )  # fmt: skip


async def test_refused_bodies_naming_the_person_and_their_key_are_erased(
    db: async_sessionmaker[AsyncSession],
) -> None:
    async with db() as session, session.begin():
        await refuse(session, "acme", b'{"respondent": {"email": "Ida@Example.com"}}')
        await refuse(session, "acme", b'{"respondent": {"id": "c-42"}, "score": 11}')
        await refuse(session, "acme", b'{"respondent": {"id": "c-421"}}')  # someone else
        await refuse(session, "other", b'{"respondent": {"email": "ida@example.com"}}')
        await DataKeys(KEYRING).get_or_create(session, {("acme", "c-42"), ("acme", "c-421")})
    ida = Subject(respondent_id="c-42", email="ida@example.com")

    async with db() as session, session.begin():
        part = await export.collect(session, "acme", ida, KEYRING)
        assert [r["body"] for r in part["rejected"]] == [
            '{"respondent": {"email": "Ida@Example.com"}}',
            '{"respondent": {"id": "c-42"}, "score": 11}',
        ]
        assert await erasure.erase(session, "acme", ida, KEYRING) == 3  # two bodies, one key

    async with db() as session, session.begin():
        left = sorted((r.tenant, r.body) for r in await session.scalars(select(Rejected)))
        assert left == [
            ("acme", b'{"respondent": {"id": "c-421"}}'),
            ("other", b'{"respondent": {"email": "ida@example.com"}}'),
        ]
        keys = await DataKeys(KEYRING).find(session, {("acme", "c-42"), ("acme", "c-421")})
        assert set(keys) == {("acme", "c-421")}
        assert await erasure.erase(session, "acme", ida, KEYRING) == 0  # twice: harmless


async def test_the_receipt_completes_when_every_service_reported(
    db: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    async with db() as session, session.begin():
        made = await requests.request_erasure(
            session, KEYRING, "acme", Subject(email="ida@example.com"), "dpo", now
        )
    erasure_id = made.erasure.id
    assert made.erasure.named_by == "email"

    def report(service: str, rows: int, eid: uuid.UUID = erasure_id) -> ErasureReported:
        return ErasureReported(
            event_id=erasure_report_id(eid, service), erasure_id=eid, tenant="acme",
            service=service, rows=rows, finished_at=now,
        )  # fmt: skip

    async with db() as session, session.begin():
        await requests.record_reports(
            session,
            [
                report("ingest", 1),
                report("scoring", 2),
                report("ingest", 9),
                report("x", 1, uuid.uuid4()),
            ],
        )
        receipt = await requests.receipt(session, "acme", erasure_id)
        assert receipt is not None
        assert not receipt.complete
        assert {n: r.rows for n, r in receipt.reports.items()} == {"ingest": 1, "scoring": 2}
        assert await requests.receipt(session, "other", erasure_id) is None

    async with db() as session, session.begin():
        await requests.record_reports(session, [report("closed-loop", 0), report("notify", 4)])
        receipt = await requests.receipt(session, "acme", erasure_id)
        assert receipt is not None
        assert receipt.complete
        assert receipt.completed_at == now
