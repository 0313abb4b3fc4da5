"""Scoring's tables (schema `scoring`): answers by version, and daily buckets per segment."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, SmallInteger, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from anbefal.common.db import consumer_tables, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata("scoring")


CONSUMER_TABLES = consumer_tables(Base.metadata)

ALL_DIMENSION = "all"
ALL_VALUE = "all"


class Answer(Base):
    """The latest version of every answer; a later version replaces an earlier one."""

    __tablename__ = "answers"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(SmallInteger)
    day: Mapped[date] = mapped_column(Date)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    segments: Mapped[dict[str, str]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DailyBucket(Base):
    """Counts per (tenant, kind, dimension, value, day in the tenant's time zone).

    Any window over any segment is one range scan of this primary key.
    """

    __tablename__ = "daily_buckets"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    promoters: Mapped[int] = mapped_column(Integer, default=0)
    passives: Mapped[int] = mapped_column(Integer, default=0)
    detractors: Mapped[int] = mapped_column(Integer, default=0)


class Tenant(Base):
    """What scoring needs of a tenant's settings (from `anbefal.tenants.v1`)."""

    __tablename__ = "tenants"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    anonymity_k: Mapped[int] = mapped_column(Integer)
