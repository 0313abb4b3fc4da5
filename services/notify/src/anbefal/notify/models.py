"""notify's tables (schema `notify`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from anbefal.common.db import consumer_tables, service_metadata
from anbefal.common.outbox import outbox_table
from anbefal.common.tenants import TenantProjection


class Base(DeclarativeBase):
    metadata = service_metadata("notify")


CONSUMER_TABLES = consumer_tables(Base.metadata)
# Task lifecycle events, written with the change they describe; the relay publishes them.
OUTBOX = outbox_table(Base.metadata)


class Tenant(Base):
    __tablename__ = "tenants"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    sender_email: Mapped[str | None] = mapped_column(String(320))
    default_director: Mapped[str | None] = mapped_column(String(320))
    # The second escalation level (TenantSettings.escalation_next*).
    escalation_next: Mapped[str | None] = mapped_column(String(320))
    escalation_next_after_hours: Mapped[float] = mapped_column(Float, server_default="24")
    # Days tasks (with notes and chat posts) and mail keep personal data (privacy/retention.py).
    tasks_retention_days: Mapped[int] = mapped_column(Integer, server_default=text("730"))
    emails_retention_days: Mapped[int] = mapped_column(Integer, server_default=text("30"))
    time_zone: Mapped[str] = mapped_column(String(64), server_default="Europe/Copenhagen")
    # The leadership digest (`digest/`): recipients, cadence in days, hour of the local morning.
    digest_recipients: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'"))
    digest_every_days: Mapped[int] = mapped_column(Integer, server_default=text("14"))
    digest_hour: Mapped[int] = mapped_column(Integer, server_default=text("8"))


TENANTS = TenantProjection(Tenant)


class TenantRecord(Base):
    """A tenant's whole settings record (`TenantSettings`), the newest notify has: saved by a
    partial update at once (so a second update right after builds on the first), and by the
    consumer from `anbefal.tenants.v1` when the event is newer. What a partial update starts
    from; the other services keep only the columns they read (`tenants`)."""

    __tablename__ = "tenant_settings"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StaffLink(Base):
    """A one-time link to set a password: an invitation (the login is made when it is used) or
    a reset. Only the token's hash is kept; the link works once, until `expires_at`, and only
    the newest unused link of a login works."""

    __tablename__ = "staff_links"
    __table_args__ = (Index("ix_staff_links_login", "tenant", "email"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63))
    email: Mapped[str] = mapped_column(String(320))
    purpose: Mapped[str] = mapped_column(String(10))  # invite | reset
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    scope: Mapped[dict[str, str]] = mapped_column(JSONB)
    locale: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Task(Base):
    """A call-back or follow-up task. `UNIQUE(action_id)`: an action makes exactly one task."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_queue", "tenant", "status", "due_at"),
        # The task page's "earlier answers and tasks" of one respondent, and of one account.
        Index("ix_tasks_respondent", "tenant", text("(respondent ->> 'key')")),
        Index("ix_tasks_account", "tenant", text("(respondent ->> 'account_id')")),
        # The closed-loop figures: a tenant's tasks by the day of their answer.
        Index("ix_tasks_answered", "tenant", "answered_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    action_id: Mapped[uuid.UUID] = mapped_column(UUID, unique=True)
    tenant: Mapped[str] = mapped_column(String(63))
    type: Mapped[str] = mapped_column(String(20))
    rule_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="open")
    assignee: Mapped[str | None] = mapped_column(String(320))
    assignee_role: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    priority: Mapped[int] = mapped_column(SmallInteger)
    response_event_id: Mapped[uuid.UUID] = mapped_column(UUID)
    kind: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    respondent: Mapped[dict[str, str | None]] = mapped_column(JSONB)
    segments: Mapped[dict[str, str]] = mapped_column(JSONB)
    # The action revision applied (Action.revision); an older or equal one is ignored.
    revision: Mapped[int] = mapped_column(Integer, server_default="1")
    # The respondent's later answers closed_loop folded into this task (its cool-down).
    attached: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Who holds the task: set only by the conditional claim, so two agents never both hold it.
    claimed_by: Mapped[str | None] = mapped_column(String(320))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The first time anyone took the task up (its first claim; completing needs one): kept
    # through reassigning and reopening, which clear `claimed_at`. The figures' first contact.
    first_contact_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(20))
    # Why the respondent was unhappy, one of the tenant's reason codes (`reasons/`), chosen
    # with the outcome; a reopen clears it here and keeps it in `task_completions`.
    reason: Mapped[str | None] = mapped_column(String(40))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # SLA clock: each is set once, by whichever notify copy got the row first.
    warned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_next_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where the assignee came from (`Action.assignee_source`, or `reassigned` by a lead), and
    # whether a signed task link may go to them without a staff login (`tasks/reach.py`).
    assignee_source: Mapped[str | None] = mapped_column(String(20))
    assignee_trusted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    due_clock: Mapped[str | None] = mapped_column(String(20))


class TaskFacts(Protocol):
    """What a task's notices read of it (its events, assignment mail, chat post, page links):
    a stored `Task`, or a `NewTask` a batch has just inserted."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def action_id(self) -> uuid.UUID: ...
    @property
    def tenant(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def score(self) -> int: ...
    @property
    def comment(self) -> str | None: ...
    @property
    def respondent(self) -> dict[str, str | None]: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def assignee_trusted(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task a batch has just inserted, as it wrote it: reading each back from the INSERT was
    an ORM object and three JSON documents to decode, per task of a burst."""

    id: uuid.UUID
    action_id: uuid.UUID
    tenant: str
    type: str
    kind: str
    status: str
    score: int
    comment: str | None
    respondent: dict[str, str | None]
    due_at: datetime | None
    assignee: str | None
    assignee_trusted: bool


class TaskNote(Base):
    __tablename__ = "task_notes"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey(Task.id), index=True)
    tenant: Mapped[str] = mapped_column(String(63))
    author: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    # The completion's outcome, for the note written with it: shown in the reader's language
    # beside the note, never as a code inside it.
    outcome: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TaskCompletion(Base):
    """Each completion of a task, kept when the task is reopened (`reopened_at`), so a reopen
    never loses what an earlier call found out."""

    __tablename__ = "task_completions"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey(Task.id), index=True)
    tenant: Mapped[str] = mapped_column(String(63))
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    completed_by: Mapped[str] = mapped_column(String(320))
    completed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    reopened_by: Mapped[str | None] = mapped_column(String(320))
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutcomeReasons(Base):
    """A tenant's own reason codes for completed tasks (`reasons/`); no row: the defaults."""

    __tablename__ = "outcome_reasons"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    # [{"code": "price", "labels": {"da": "Pris", "en": "Price"}}, ...] in the order shown.
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    updated_by: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Email(Base):
    """The email outbox: one row per email action, sent by the worker, logged for the API."""

    __tablename__ = "emails"
    __table_args__ = (
        Index("ix_emails_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        # The per-recipient daily cap counts respondent mail sent to one address.
        Index(
            "ix_emails_recipient_sent",
            text("lower(recipient)"),
            "sent_at",
            postgresql_where=text("status = 'sent' AND unsubscribe_url IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    action_id: Mapped[uuid.UUID] = mapped_column(UUID, unique=True)
    tenant: Mapped[str] = mapped_column(String(63), index=True)
    template: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(400))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    recipient: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    # An HTML alternative to `body`, and the PNG images it shows inline (content id → base64),
    # for mail that carries charts (the digest); most mail is plain text only.
    html: Mapped[str | None] = mapped_column(Text)
    images: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    # Respondent-facing mail only: the link that puts the recipient on the suppression list,
    # also sent as the List-Unsubscribe header (RFC 2369/8058).
    unsubscribe_url: Mapped[str | None] = mapped_column(Text)
    # pending -> sent | failed (permanent, with the reason) | suppressed (never sent) |
    # cancelled (its action was, before it went) | skipped (over the recipient's daily cap)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    trace_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The respondent the mail is to or about (a thank-you, a task's notices), so an erasure
    # or export by respondent id finds it; NULL once erased.
    respondent_key: Mapped[str | None] = mapped_column(String(200))


class StaffUser(Base):
    """Support staff and directors who log in to the staff page (email + argon2 password)."""

    __tablename__ = "staff_users"
    __table_args__ = (UniqueConstraint("tenant", "email"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(String(63))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(8), default="en")
    # An IANA zone for the times on their pages; None: the tenant's.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    # A deactivated user cannot log in, and their sessions are gone.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # A team lead's segment values (`{"team": "Alpha"}`); empty: the whole tenant. Every token
    # the web app issues for the user carries it, and the services filter by it.
    scope: Mapped[dict[str, str]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StaffSession(Base):
    """A staff login. The cookie holds a random token; only its SHA-256 is stored, so the
    table does not hand out sessions. Logging out, deactivation and saving the user (a new role,
    scope or password) delete the rows; a row whose user is inactive or has another role or
    scope counts for nothing either."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_user", "tenant", "email"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    tenant: Mapped[str] = mapped_column(String(63))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    scope: Mapped[dict[str, str]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    # The token every form of this session carries (cross-site request forgery).
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Suppression(Base):
    """Addresses that asked for no more mail from a tenant; the email worker never sends to them."""

    __tablename__ = "suppressions"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    # Stored lower-cased: the worker compares lower-cased recipients. After an erasure of the
    # person, the address's keyed hash instead (common/erasure.py): still suppressed, no longer
    # readable.
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ChatWebhook(Base):
    """A tenant's Slack or Teams incoming webhook for new detractor tasks, set through notify's
    admin API. The URL is a credential: sealed with the deployment's data keys (context: the
    tenant), never logged, never returned; `host` is what the API shows."""

    __tablename__ = "chat_webhooks"

    tenant: Mapped[str] = mapped_column(String(63), primary_key=True)
    url_sealed: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(253))
    updated_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ChatMessage(Base):
    """The chat outbox: a post to a tenant's Slack or Teams incoming webhook, written in the
    transaction that created the task and sent by `ChatWorker` (at-least-once, never lost)."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        Index(
            "ix_chat_messages_due", "next_attempt_at", postgresql_where=text("status = 'pending'")
        ),
    )

    # uuid5(task id, "chat"): a redelivered action cannot post twice.
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63), index=True)
    task_id: Mapped[uuid.UUID] = mapped_column(UUID)
    # The webhook URL as sealed in `chat_webhooks` (the worker opens it to post).
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # pending -> sent | failed (permanent, with the reason) | cancelled (the task was)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """The audit trail of every service's tenant (docs/architecture.md, "The audit trail"): one
    row per `AuditEntry` from `anbefal.audit.v1`, and per tenant-settings event."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        # The API's one query: a tenant's entries newest first, optionally of one kind.
        Index("ix_audit_entries_tenant_at", "tenant", "at", "event_id"),
        Index("ix_audit_entries_tenant_kind_at", "tenant", "kind", "at", "event_id"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(63))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_sub: Mapped[str] = mapped_column(String(320))
    actor_role: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(63))
    target: Mapped[str] = mapped_column(String(400))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
