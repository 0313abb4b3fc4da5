"""Scoring's tables (schema `scoring`): answers by version, and daily buckets per segment."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from anbefal.common.db import consumer_tables, service_metadata
from anbefal.common.outbox import outbox_table
from anbefal.common.tenants import TenantProjection


class Base(DeclarativeBase):
    metadata = service_metadata("scoring")


CONSUMER_TABLES = consumer_tables(Base.metadata)
# `anbefal.scores.v1` events leave through here (the transactional outbox, common/outbox.py),
# written by the score event scheduler.
OUTBOX = outbox_table(Base.metadata)

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
    # Keyed hashes (common/erasure.py) of an NPS answer's respondent key and address, so an
    # erasure or export finds the person's answers; NULL for eNPS answers (scoring keeps no
    # link from an employee to their answer) and once erased.
    respondent_hash: Mapped[str | None] = mapped_column(String(80))
    email_hash: Mapped[str | None] = mapped_column(String(80))
    # What the answers API shows (answers_api/): the comment, and for an NPS answer the
    # respondent's key, name and account. Never an email or phone; an eNPS answer keeps its
    # comment only. Erasure and retention set them to NULL (privacy/erasure.py).
    comment: Mapped[str | None] = mapped_column(Text)
    respondent_key: Mapped[str | None] = mapped_column(Text)
    respondent_name: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[str | None] = mapped_column(Text)
    # eNPS: its block's count of changes once this version was added (blocks.add_to_blocks);
    # the answer is in the block's published figures once `shown_changes` reaches it.
    enps_position: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        # A window of a tenant's answers of one kind; with score and segments included, a read
        # filtered by several segment values (answer_figures.py) is an index-only scan: about
        # 3x faster over a year of 200,000 answers than reading the table.
        Index(
            "ix_answers_tenant_kind_day",
            "tenant",
            "kind",
            "day",
            postgresql_include=["score", "segments"],
        ),
        Index(
            "ix_answers_tenant_kind_answered",
            "tenant",
            "kind",
            text("answered_at DESC"),
            text("event_id DESC"),
        ),
        Index(
            "ix_answers_respondent_hash",
            "respondent_hash",
            postgresql_where=text("respondent_hash IS NOT NULL"),
        ),
        Index(
            "ix_answers_email_hash", "email_hash", postgresql_where=text("email_hash IS NOT NULL")
        ),
    )


class _Buckets:
    """The columns of a table of daily counts per segment, and its read index."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index]:
        # A window of one dimension is one range of this index, read without touching the
        # table (index-only scan): 5-10x faster than the primary key for a breakdown over
        # many segments. It costs the consumer HOT updates; reads are what users wait for.
        name = f"ix_{cls.__tablename__}_window"  # type: ignore[attr-defined]
        include = ["value", "promoters", "passives", "detractors"]
        return (Index(name, "tenant", "kind", "dimension", "day", postgresql_include=include),)

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    promoters: Mapped[int] = mapped_column(Integer, default=0)
    passives: Mapped[int] = mapped_column(Integer, default=0)
    detractors: Mapped[int] = mapped_column(Integer, default=0)


class DailyBucket(_Buckets, Base):
    """Counts per (tenant, kind, dimension, value, day in the tenant's time zone), live.

    Any window over any segment is one range scan of this primary key.
    """

    __tablename__ = "daily_buckets"


class EnpsBlock(Base):
    """eNPS counts of one group of people (the answers with the same segments) in one month in
    the tenant's time zone: live, and as published. Every eNPS figure a reader sees is a sum of
    published blocks (scoring/grid.py); a block is republished only once at least k answers
    changed it, so no two figures differ by a few people."""

    __tablename__ = "enps_blocks"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    segments: Mapped[dict[str, str]] = mapped_column(JSONB, primary_key=True)
    promoters: Mapped[int] = mapped_column(Integer, default=0)
    passives: Mapped[int] = mapped_column(Integer, default=0)
    detractors: Mapped[int] = mapped_column(Integer, default=0)
    shown_promoters: Mapped[int] = mapped_column(Integer, default=0)
    shown_passives: Mapped[int] = mapped_column(Integer, default=0)
    shown_detractors: Mapped[int] = mapped_column(Integer, default=0)
    # How many answers changed the block, and how many of those its published counts include.
    changes: Mapped[int] = mapped_column(BigInteger, default=0)
    shown_changes: Mapped[int] = mapped_column(BigInteger, default=0)
    # When it was last published (NULL: never, so nobody sees it).
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SegmentState(Base):
    """Per segment: how many answers changed it so far, since when it has changes the score
    event scheduler has not looked at, and (eNPS) what its last event said."""

    __tablename__ = "segment_state"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    changes: Mapped[int] = mapped_column(BigInteger, default=0)
    # eNPS: the open month's figures its last event carried; an event leaves only when they move.
    shown_figures: Mapped[str | None] = mapped_column(String(200))
    # The first unreported change; NULL when there is none. The scheduler looks at a segment
    # N seconds after this, so changes coalesce and events leave at most once per N seconds.
    dirty_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "ix_segment_state_dirty_since",
            "dirty_since",
            postgresql_where=text("dirty_since IS NOT NULL"),
        ),
    )


class Tenant(Base):
    """What scoring needs of a tenant's settings (from `anbefal.tenants.v1`)."""

    __tablename__ = "tenants"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    anonymity_k: Mapped[int] = mapped_column(Integer)
    # Days an answer keeps the hashes that link it to a person (privacy/retention.py).
    answers_retention_days: Mapped[int] = mapped_column(Integer, server_default=text("730"))


class TenantThemes(Base):
    """A tenant's named themes (themes/store.py): `[{"name", "keywords": [...]}, ...]`; a
    tenant without a row reads the built-in ones."""

    __tablename__ = "themes"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    themes: Mapped[list[dict[str, object]]] = mapped_column(JSONB)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


TENANTS = TenantProjection(Tenant)
