"""Ingest's own tables (schema `ingest`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from anbefal.common.db import consumer_tables, service_metadata
from anbefal.common.outbox import outbox_table
from anbefal.common.tenants import TenantProjection


class Base(DeclarativeBase):
    metadata = service_metadata("ingest")


# ingest consumes erasure requests and the services' reports (privacy/), and publishes the
# requests (and its own report), and the audit entries of source changes, through its outbox.
CONSUMER_TABLES = consumer_tables(Base.metadata)
OUTBOX = outbox_table(Base.metadata)


class Tenant(Base):
    """What ingest needs of a tenant's settings (from `anbefal.tenants.v1`): how long refused
    bodies are kept (privacy/retention.py)."""

    __tablename__ = "tenants"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    rejected_retention_days: Mapped[int] = mapped_column(Integer, server_default="30")
    enps_rejected_retention_days: Mapped[int] = mapped_column(Integer, server_default="7")


TENANTS = TenantProjection(Tenant)


class Rejected(Base):
    """Every body we refused (or received and did not turn into an answer), kept so ops can see
    it and replay it after fixing the source's configuration. Pruned after the retention."""

    __tablename__ = "rejected"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(63), index=True)
    source: Mapped[str] = mapped_column(String(100))
    status_code: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[list[dict[str, str]]] = mapped_column(JSONB)
    headers: Mapped[dict[str, str]] = mapped_column(JSONB)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    # The sender proved who it was (signature or token): only such bodies may be replayed.
    verified: Mapped[bool] = mapped_column(Boolean, server_default="false")
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # It holds eNPS answers: pruned after the shorter eNPS retention.
    enps: Mapped[bool] = mapped_column(Boolean, server_default="false")


class UnverifiedDelivery(Base):
    """A delivery that failed verification (unknown tenant or source, wrong signature, a body
    too large to verify): one sampled line, never the body, so anyone on the internet can make
    ops see "someone posts with a wrong secret" but cannot make ingest store their bytes."""

    __tablename__ = "unverified_deliveries"
    __table_args__ = (Index("ix_ingest_unverified_deliveries_tenant_id", "tenant", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(63))
    source: Mapped[str] = mapped_column(String(100))
    client: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    # Bytes received (of a body over the limit: as far as it was read, or as declared).
    size: Mapped[int] = mapped_column(Integer)
    # How many such deliveries (same tenant, source, client, reason) this line stands for.
    count: Mapped[int] = mapped_column(Integer)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class SourceRow(Base):
    """A survey tool configured for a tenant: how to verify it and where its answer lives."""

    __tablename__ = "sources"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    tool: Mapped[str] = mapped_column(String(40))
    # The validated SourceConfig without its secrets.
    config: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Signing secret and API token, sealed with the deployment keyring (`kid.ciphertext`, bound
    # to the tenant, source and field): never logged, never returned by the API.
    secret_sealed: Mapped[str] = mapped_column(Text)
    api_token_sealed: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str] = mapped_column(String(200))


class SourceDelivery(Base):
    """How a source's deliveries were answered, one line per source, minute, status and outcome
    (`accepted`, `duplicate`, `ignored`, a refusal's code, `bad_signature`, ...) with how many
    and the last one's trace id: the admin page's "last deliveries". No body and nothing about
    the respondent. Counted in memory and written every second or so (`intake/deliveries.py`);
    kept 7 days."""

    __tablename__ = "source_deliveries"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    source: Mapped[str] = mapped_column(String(63), primary_key=True)
    minute: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    status_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_trace_id: Mapped[str] = mapped_column(String(64))


class SeenAnswer(Base):
    """Dedupe keys: an answer version already in Kafka is acknowledged again without a new event.

    Kept for `dedupe_retention_days` (default 7, longer than any tool's retry horizon)."""

    __tablename__ = "seen_answers"

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class FetchJob(Base):
    """A thin webhook (SurveyMonkey, Qualtrics): the answer is fetched from the tool's API later.

    Stored before the webhook gets its 202, so the answer cannot be lost between the two. One
    live job (pending or done) per answer: a redelivery of it is a duplicate, not a new fetch;
    one given up (failed) makes way for the next delivery or a replay."""

    __tablename__ = "fetch_jobs"
    # The jobs that stand for their answer. Literal SQL, also where an insert names this index
    # as its ON CONFLICT arbiter: a predicate carried in bind parameters no longer proves the
    # index applies once PostgreSQL plans the prepared statement generically (its sixth run on
    # a connection), and the insert then fails.
    LIVE = text("status IN ('pending', 'done')")
    __table_args__ = (
        Index(
            "uq_ingest_fetch_jobs_answer", "tenant", "source", "survey_id", "response_id",
            unique=True, postgresql_where=LIVE,
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(63))
    source: Mapped[str] = mapped_column(String(63))
    survey_id: Mapped[str] = mapped_column(String(200))
    response_id: Mapped[str] = mapped_column(String(200))
    trace_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The delivery as the tool sent it (ids only; kept headers), kept in `rejected` as a
    # replayable body if the fetch is given up.
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)


class Erasure(Base):
    """An erasure request and its receipt (the reports below). It does not say whom it erased:
    the person is named only in the sealed request on `anbefal.erasures.v1`."""

    __tablename__ = "erasures"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63), index=True)
    # By what the person was named: `respondent_id`, `email` or both (never the value).
    named_by: Mapped[str] = mapped_column(String(40))
    requested_by: Mapped[str] = mapped_column(String(320))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ErasureReport(Base):
    """One service's report of one erasure: when it finished, how many rows it changed."""

    __tablename__ = "erasure_reports"

    erasure_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey(Erasure.id, ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(40), primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
