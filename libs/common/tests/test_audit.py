"""The audit helper: an entry is written in the change's own transaction (through the outbox),
so it exists if and only if the change committed; no secret goes into it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, String, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import audit, topics
from anbefal.common.auth import Principal, Role
from anbefal.common.db import create_engine, create_sessionmaker, service_metadata
from anbefal.common.events import Actor, AuditEntry, decode
from anbefal.common.outbox import outbox_table

ADA = Principal(tenant="acme", role=Role.ADMIN, sub="ada@acme.example")


def test_the_actor_is_the_tokens_subject_and_role() -> None:
    made = audit.entry(tenant="acme", actor=ADA, action="rules.changed", target="rules")
    assert made.actor == Actor(sub="ada@acme.example", role="admin")
    assert (made.kind, made.at.tzinfo is not None) == ("rules", True)


@pytest.mark.parametrize("action", ["rules", "weather.changed", "Rules.changed", "rules.x y"])
def test_an_action_is_a_known_kind_and_a_verb(action: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        audit.entry(tenant="acme", actor=ADA, action=action, target="rules")


@pytest.mark.parametrize(
    "detail",
    [
        {"secret": "whsec_abc"},
        {"changes": {"api_token": "tok"}},
        {"chat_webhook_url": {"from": None, "to": "https://hooks.example/x"}},
        {"password_hash": "$argon2id$..."},
    ],
)
def test_a_secret_never_goes_into_the_detail(detail: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="secret"):
        audit.entry(tenant="acme", actor=ADA, action="source.changed", target="s", detail=detail)


def test_whether_a_secret_changed_may_be_said() -> None:
    detail = {"secret_changed": True, "chat_webhook_url": {"from": False, "to": True}}
    made = audit.entry(tenant="acme", actor=ADA, action="source.changed", target="s", detail=detail)
    assert made.detail == detail


SCHEMA = "audit_test"
metadata = service_metadata(SCHEMA)
OUTBOX = outbox_table(metadata)
THINGS = Table("things", metadata, Column("name", String(50), primary_key=True))


class Boom(Exception):
    pass


async def _change(session: AsyncSession, name: str) -> None:
    await session.execute(THINGS.insert().values(name=name))
    await audit.record(
        session, OUTBOX, tenant="acme", actor=ADA, action="source.added",
        target=f"source:{name}", detail={"tool": "typeform"},
    )  # fmt: skip


@pytest.mark.integration
async def test_an_entry_exists_if_and_only_if_its_change_committed(stack: Any) -> None:
    engine = create_engine(stack.new_database(), pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
            await conn.run_sync(metadata.create_all)
        sessions = create_sessionmaker(engine)
        with pytest.raises(Boom):  # noqa: PT012 (the transaction is what is under test)
            async with sessions() as session, session.begin():
                await _change(session, "rolled-back")
                raise Boom
        async with sessions() as session, session.begin():
            await _change(session, "kept")
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(THINGS)) == 1
            rows = (await session.execute(select(OUTBOX.c.topic, OUTBOX.c.payload))).all()
        assert [r.topic for r in rows] == [topics.AUDIT]
        kept = decode(AuditEntry, rows[0].payload)
        assert (kept.tenant, kept.action, kept.target) == ("acme", "source.added", "source:kept")
        assert (kept.actor.sub, kept.actor.role, kept.detail) == (
            "ada@acme.example", "admin", {"tool": "typeform"},
        )  # fmt: skip
    finally:
        await engine.dispose()
