"""Event contracts: frozen pydantic models, JSON on the wire (docs/architecture.md §3).

Changes are additive only; a breaking change gets a new `.v2` topic. Consumers ignore fields they
do not know, so a newer producer never poisons an older consumer.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from anbefal.common import topics

# Fixed namespace so the same answer always maps to the same event id, on every machine.
ANBEFAL_NAMESPACE = uuid.UUID("6f1c1f7e-2a63-5b8e-9a4e-5d0c2b1e4a10")

TENANT_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
Tenant = Annotated[str, Field(pattern=TENANT_PATTERN)]
Kind = Literal["nps", "enps"]


class EventModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_bytes(self) -> bytes:
        # pydantic's own serializer: it also knows UUID subclasses (asyncpg returns its own).
        return self.__pydantic_serializer__.to_json(self)


E = TypeVar("E", bound=EventModel)


def decode(model: type[E], raw: bytes | None) -> E:
    """Parse a record value; raises pydantic.ValidationError for anything that does not fit."""
    return model.model_validate_json(raw or b"")


_NAMESPACE_BYTES = ANBEFAL_NAMESPACE.bytes


# The generic API (bearer token, our own body format) as a source: the reserved source name and
# the tool its answers' event ids are derived from. Stored in every such id: never rename it.
GENERIC_API = "api"


def _uuid5(namespace: bytes, name: str) -> uuid.UUID:
    """`uuid.uuid5` of a namespace given as its bytes (tests/test_events.py checks), without
    building the namespace's `UUID` on every call: half the cost, on ingest's and closed_loop's
    hot paths."""
    digest = hashlib.sha1(namespace + name.encode(), usedforsecurity=False).digest()
    return uuid.UUID(bytes=digest[:16], version=5)


def response_event_id(tenant: str, tool: str, response_id: str) -> uuid.UUID:
    """The stable id of one answer: every delivery of it, retries included, gets this id
    (`uuid.uuid5(ANBEFAL_NAMESPACE, name)`)."""
    return _uuid5(_NAMESPACE_BYTES, f"{tenant}\x1f{tool}\x1f{response_id}")


def action_id(response_event_id: uuid.UUID, rule_id: str) -> uuid.UUID:
    """One action per (answer, rule): deciding twice yields the same id, so it is stored once
    (`uuid.uuid5(response_event_id, rule_id)`)."""
    return _uuid5(response_event_id.bytes, rule_id)


class Source(EventModel):
    tool: str
    survey_id: str | None = None
    response_id: str


class Respondent(EventModel):
    key: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    account_id: str | None = None
    # Name, email and phone sealed with the respondent's data key (`anbefal.common.contact`):
    # producers send them only here, so shredding the key erases every copy on the topics.
    sealed: str | None = None
    # The email's keyed hash (`anbefal.common.identity`), set where the email is sealed: an
    # erasure or export by email finds the answer by it; it opens nothing.
    email_hash: str | None = None


class Owners(EventModel):
    salesperson: str | None = None
    director: str | None = None


class SurveyResponse(EventModel):
    """A survey answer accepted by ingest (fact). Key: `tenant:respondent_key`."""

    schema_version: Literal[1] = 1
    event_id: uuid.UUID
    version: int = Field(ge=1)
    tenant: Tenant
    kind: Kind
    score: int = Field(ge=0, le=10)
    comment: str | None = None
    answered_at: AwareDatetime
    received_at: AwareDatetime
    source: Source
    respondent: Respondent
    segments: dict[str, str] = Field(default_factory=dict)
    owners: Owners = Field(default_factory=Owners)
    # An answer from the past (an import): scored with its own date, never routed to anyone.
    history: bool = False

    @property
    def key(self) -> bytes:
        return f"{self.tenant}:{self.respondent.key}".encode()


class AttachedAnswer(EventModel):
    """An answer folded into an open action (the respondent's cool-down)."""

    response_event_id: uuid.UUID
    response_version: int
    score: int = Field(ge=0, le=10)
    comment: str | None = None
    answered_at: AwareDatetime


ActionType = Literal["call_task", "follow_up_task", "email", "chat_message"]
OwnerSource = Literal["hint", "account", "segment", "default"]
# The action types that become a task in notify's call-back queue.
TASK_ACTIONS: frozenset[ActionType] = frozenset({"call_task", "follow_up_task"})


class Action(EventModel):
    """What closed_loop decided must happen for one answer (command). Key: `tenant:response`."""

    schema_version: Literal[1] = 1
    action_id: uuid.UUID
    tenant: Tenant
    type: ActionType
    rule_id: str
    response_event_id: uuid.UUID
    response_version: int
    kind: Kind
    score: int = Field(ge=0, le=10)
    comment: str | None = None
    answered_at: AwareDatetime
    decided_at: AwareDatetime
    assignee: str | None
    assignee_role: Literal["director", "salesperson", "respondent", "team"]
    due_at: AwareDatetime | None = None
    priority: int = 0
    template: str | None = None
    respondent: Respondent
    segments: dict[str, str] = Field(default_factory=dict)
    # When ingest accepted the answer: the start of the detractor-to-task clock.
    received_at: AwareDatetime | None = None
    # Later decisions about the same action (same action_id): a late comment, a changed score,
    # an answer attached in the cool-down. Apply an action only if its revision is higher than
    # the one applied; revisions of one action may arrive out of order or more than once.
    revision: int = Field(default=1, ge=1)
    # The answer no longer calls for this action (its score changed): close or withdraw it.
    cancelled: bool = False
    # The action of the same answer, by another rule, that this one replaces (it is cancelled).
    supersedes: uuid.UUID | None = None
    # Later answers of the same respondent inside the rule's cool-down, folded into this action
    # instead of becoming a second task.
    attached: list[AttachedAnswer] = Field(default_factory=list)
    # Where the assignee came from: the answer's own `owners` hint (which a survey's hidden
    # field can set to any address), or the tenant's configuration (its accounts, segments or
    # defaults). notify sends a signed task link only to an address the tenant configured.
    assignee_source: OwnerSource | None = None
    # How the rule counted the due time (wall-clock hours or the assignee's business hours).
    due_clock: Literal["wall", "business_hours"] | None = None

    @property
    def key(self) -> bytes:
        return f"{self.tenant}:{self.response_event_id}".encode()


class TaskEvent(EventModel):
    """A call-back task's lifecycle (fact). Key: `tenant:task_id`."""

    schema_version: Literal[1] = 1
    event_id: uuid.UUID
    tenant: Tenant
    task_id: uuid.UUID
    action_id: uuid.UUID
    type: Literal["created", "claimed", "completed", "escalated", "reassigned", "reopened"]
    at: AwareDatetime
    actor: str | None = None
    # `completed` only: how the call went and why the respondent was unhappy (one of the
    # tenant's reason codes, or None when none was given).
    outcome: str | None = None
    reason: str | None = None

    @property
    def key(self) -> bytes:
        return f"{self.tenant}:{self.task_id}".encode()


class Actor(EventModel):
    """Who made a change: a token's subject and role, or `cli` for the command line, which
    holds the deployment's secrets and needs no token."""

    sub: str
    role: str


class TenantSettings(EventModel):
    """A tenant's settings (state, compacted topic). Key: `tenant`."""

    schema_version: Literal[1] = 1
    tenant: Tenant
    display_name: str
    time_zone: str = "Europe/Copenhagen"
    locale: Literal["da", "en"] = "en"
    default_director: str | None = None
    default_salesperson: str | None = None
    follow_up_days: int = Field(default=5, ge=1, le=60)
    sender_name: str | None = None
    sender_email: str | None = None
    anonymity_k: int = Field(default=5, ge=3)
    updated_at: datetime
    # The next escalation level: a breached task still open this long after its due time is
    # escalated again, to this address (None: no second level).
    escalation_next: str | None = None
    escalation_next_after_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    # No longer read or written: the chat webhook URL is a credential and is set through
    # notify's API (PUT /v1/tenants/{t}/chat-webhook), never sent on Kafka. Kept so records
    # already on the compacted topic still decode.
    chat_webhook_url: str | None = None
    # How long personal data is kept, in days, before the retention workers anonymise it (the
    # figures stay): answers and the actions decided on them, tasks with their notes and chat
    # posts, sent mail, refused bodies (ingest), and refused bodies that hold eNPS answers.
    answers_retention_days: int = Field(default=730, ge=1)
    tasks_retention_days: int = Field(default=730, ge=1)
    emails_retention_days: int = Field(default=30, ge=1)
    rejected_retention_days: int = Field(default=30, ge=1)
    enps_rejected_retention_days: int = Field(default=7, ge=1)
    # The leadership digest (notify): who gets it, every how many days, and at which hour of
    # the tenant's morning; it goes out on weekdays only. No recipients: no digest.
    digest_recipients: list[str] = Field(default_factory=list, max_length=50)
    digest_every_days: int = Field(default=14, ge=1, le=92)
    digest_hour: int = Field(default=8, ge=0, le=23)
    # Who published these settings (the audit trail records it); None from older producers.
    changed_by: Actor | None = None

    @property
    def key(self) -> bytes:
        return self.tenant.encode()


class AuditEntry(EventModel):
    """One change to a tenant's configuration or to a person's data (fact), written by the
    service that made the change in the change's own transaction (`common/audit.py`).
    Key: `tenant`.

    `detail` says what changed and never holds a secret or a respondent's contact data."""

    schema_version: Literal[1] = 1
    event_id: uuid.UUID
    tenant: Tenant
    at: AwareDatetime
    actor: Actor
    action: str  # `<kind>.<verb>`, e.g. `rules.changed`, `user.added`, `erasure.requested`
    target: str  # what changed, e.g. `rules`, `source:typeform-nps`, `respondent:c-42`
    detail: dict[str, Any] = Field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.action.split(".", 1)[0]

    @property
    def key(self) -> bytes:
        return self.tenant.encode()


class ScoresChanged(EventModel):
    """A segment's rolling figures after a change (fact), on `anbefal.scores.v1`; at most one
    per segment per throttle interval. Key: `tenant:kind:dimension:value`.

    eNPS events carry the current month's cell of the eNPS grid exactly as the scores API
    shows it (`cell`, `as_of`): a hidden segment's event says `suppressed` and why, and carries
    no counts; the figures move only in steps of at least k answers of one group of people.
    """

    schema_version: Literal[1] = 1
    event_id: uuid.UUID
    tenant: Tenant
    kind: Kind
    dimension: str
    value: str
    # "30d" (NPS: the rolling window the figures cover) or "month" (eNPS: the grid cell),
    # in the tenant's time zone
    window: str
    first_day: date
    last_day: date
    # Grows with every new state of the key: a consumer keeps the highest per key (NPS: the
    # answer changes the segment had seen; eNPS: those the tenant's published figures include).
    sequence: int = Field(ge=0)
    suppressed: bool = False
    # eNPS: why a suppressed figure is hidden ("too_few" or "protects_other_segment"), the
    # grid cell ("2026-12") and when it last moved.
    suppressed_reason: str | None = None
    cell: str | None = None
    as_of: AwareDatetime | None = None
    n: int | None = None
    promoters: int | None = None
    passives: int | None = None
    detractors: int | None = None
    nps: float | None = None
    interval_low: float | None = None
    interval_high: float | None = None
    computed_at: AwareDatetime

    @property
    def key(self) -> bytes:
        return f"{self.tenant}:{self.kind}:{self.dimension}:{self.value}".encode()


def scores_event_id(tenant: str, kind: str, dimension: str, value: str, sequence: int) -> uuid.UUID:
    """The same segment state always gets the same id, so a re-run publisher stores it once."""
    return uuid.uuid5(
        ANBEFAL_NAMESPACE, f"scores\x1f{tenant}\x1f{kind}\x1f{dimension}\x1f{value}\x1f{sequence}"
    )


class ErasureRequested(EventModel):
    """An admin asked to erase one person's data in a tenant (command), on
    `anbefal.erasures.v1`. Key: `tenant:erasure_id`.

    `subject` names the person (a respondent id, an email or both) sealed with the deployment
    keyring (`anbefal.common.erasure.Subject`), so the topic holds no readable identity."""

    schema_version: Literal[1] = 1
    erasure_id: uuid.UUID
    tenant: Tenant
    requested_at: AwareDatetime
    subject: str

    @property
    def key(self) -> bytes:
        return f"{self.tenant}:{self.erasure_id}".encode()


class ErasureReported(EventModel):
    """One service erased what it held of an erasure's subject (fact), on
    `anbefal.erasure-reports.v1`. Key: `tenant:erasure_id`; id: one per (erasure, service)."""

    schema_version: Literal[1] = 1
    event_id: uuid.UUID
    erasure_id: uuid.UUID
    tenant: Tenant
    service: str
    rows: int = Field(ge=0)
    finished_at: AwareDatetime

    @property
    def key(self) -> bytes:
        return f"{self.tenant}:{self.erasure_id}".encode()


def erasure_report_id(erasure_id: uuid.UUID, service: str) -> uuid.UUID:
    """A service reports an erasure once: a redelivered request enqueues the same report."""
    return uuid.uuid5(erasure_id, f"report\x1f{service}")


# Which model each topic carries; consumers decode with this, never in aiokafka's deserializer.
TOPIC_MODELS: dict[str, type[EventModel]] = {
    topics.RESPONSES: SurveyResponse,
    topics.ACTIONS: Action,
    topics.TASK_EVENTS: TaskEvent,
    topics.TENANTS: TenantSettings,
    topics.SCORES: ScoresChanged,
    topics.AUDIT: AuditEntry,
    topics.ERASURES: ErasureRequested,
    topics.ERASURE_REPORTS: ErasureReported,
}
