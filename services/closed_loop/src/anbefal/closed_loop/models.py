"""closed_loop's tables (schema `closed_loop`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSON, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from anbefal.common.db import consumer_tables, service_metadata
from anbefal.common.outbox import outbox_table
from anbefal.common.tenants import TenantProjection


class Base(DeclarativeBase):
    metadata = service_metadata("closed_loop")


CONSUMER_TABLES = consumer_tables(Base.metadata)
# Decided actions, written in the same transaction as the decision; the relay publishes them.
OUTBOX = outbox_table(Base.metadata)


class Tenant(Base):
    __tablename__ = "tenants"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    default_director: Mapped[str | None] = mapped_column(String(320))
    default_salesperson: Mapped[str | None] = mapped_column(String(320))
    follow_up_days: Mapped[int] = mapped_column(Integer)
    time_zone: Mapped[str] = mapped_column(String(64))
    anonymity_k: Mapped[int] = mapped_column(Integer, server_default=text("5"))
    # Days the answers and actions keep the respondent's identity (privacy/retention.py).
    answers_retention_days: Mapped[int] = mapped_column(Integer, server_default=text("730"))


TENANTS = TenantProjection(Tenant)


class RuleSetRow(Base):
    """A tenant's rules in force; absent means the default rule set."""

    __tablename__ = "rule_sets"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    rule_set: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RuleSetHistory(Base):
    """Audit trail: every version of every tenant's rules, who saved it and when."""

    __tablename__ = "rule_set_history"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_set: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_by: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AccountRow(Base):
    """Who owns a customer account: its salesperson and its director."""

    __tablename__ = "accounts"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    salesperson: Mapped[str | None] = mapped_column(String(320))
    director: Mapped[str | None] = mapped_column(String(320))


class SegmentOwnerRow(Base):
    """A segment's director (department, store ...); the lowest position wins a tie."""

    __tablename__ = "segment_owners"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(63), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    director: Mapped[str] = mapped_column(String(320))
    position: Mapped[int] = mapped_column(Integer)


class PersonRow(Base):
    """An assignee's time zone and working hours (the `Person` document; email lower-cased)."""

    __tablename__ = "people"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    person: Mapped[dict[str, Any]] = mapped_column(JSONB)


class AnswerRow(Base):
    """The latest version of every answer closed_loop evaluated. Re-evaluation, the cool-down
    and dry runs read these; closed_loop never reads scoring's tables."""

    __tablename__ = "answers"
    __table_args__ = (Index("ix_answers_tenant_answered_at", "tenant", "answered_at"),)

    event_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63))
    version: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)


class ActionRow(Base):
    """One row per (answer, rule) ever decided: exactly one action each, with its revisions.

    `payload` is the latest revision (an `Action`). `release_at` set: that revision is held
    (the debounce for a late comment) and the releaser puts it in the outbox then. An attached
    row (`attach_to`) is an answer folded into another action in the respondent's cool-down;
    it is published only as part of that action."""

    __tablename__ = "actions"
    __table_args__ = (
        Index("ix_actions_response", "response_event_id"),
        Index("ix_actions_respondent", "tenant", "respondent_key", "type"),
        Index("ix_actions_attach_to", "attach_to", postgresql_where=text("attach_to IS NOT NULL")),
        Index("ix_actions_held", "release_at", postgresql_where=text("release_at IS NOT NULL")),
    )

    action_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63))
    response_event_id: Mapped[uuid.UUID] = mapped_column(UUID)
    rule_id: Mapped[str] = mapped_column(String(63))
    type: Mapped[str] = mapped_column(String(20))
    respondent_key: Mapped[str] = mapped_column(String(200))
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revision: Mapped[int] = mapped_column(Integer)
    released_revision: Mapped[int] = mapped_column(Integer)  # 0: nothing published yet
    cancelled: Mapped[bool] = mapped_column(Boolean)
    attach_to: Mapped[uuid.UUID | None] = mapped_column(UUID)
    release_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # json, not jsonb: kept as the text written (the JSON published) and read back as is.
    # Every batch reads back its respondents' earlier actions, and rebuilding the text from
    # jsonb's binary form cost PostgreSQL about 8 µs per row.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    trace_id: Mapped[str | None] = mapped_column(String(64))
    # notify's task for this action was completed (task events): the cool-down no longer
    # attaches to it. Reopened: open again.
    task_closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
