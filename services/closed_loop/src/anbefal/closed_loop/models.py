"""closed_loop's tables (schema `closed_loop`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from anbefal.common.db import consumer_tables, service_metadata
from anbefal.common.outbox import outbox_table


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


class Evaluated(Base):
    """Inbox: the answer versions already evaluated, so a redelivery decides nothing again."""

    __tablename__ = "evaluated"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63))
    evaluated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


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
