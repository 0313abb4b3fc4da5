"""The actions' SQL: a book of action states loaded from `closed_loop.actions` (locked) and its
changes written back, the held revisions for the releaser, and the outbox of decided revisions."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from anbefal.closed_loop.actions import ActionState, Book
from anbefal.closed_loop.models import OUTBOX, ActionRow
from anbefal.common import topics
from anbefal.common.arrays import as_columns, table_of, unnest_insert
from anbefal.common.contact import seal_events
from anbefal.common.datakeys import DataKeys
from anbefal.common.events import Action
from anbefal.common.outbox import OutboxEvent, enqueue

# Every statement is constant SQL over arrays (`anbefal.common.arrays`): a batch of any size
# loads its book in one statement and writes it back in two.
_COLUMNS = (
    "action_id", "tenant", "response_event_id", "rule_id", "type", "respondent_key",
    "answered_at", "revision", "released_revision", "cancelled", "attach_to", "release_at",
    "payload", "trace_id", "task_closed_at",
)  # fmt: skip
# Every column but `updated_at` (its server default), the payload as JSON text.
_INSERT = unnest_insert(table_of(ActionRow), _COLUMNS)
_READ = ", ".join("payload::text AS payload" if c == "payload" else c for c in _COLUMNS)
_SELECT = f"SELECT {_READ} FROM closed_loop.actions "
# Three index lookups joined by UNION ALL, not one WHERE of three ORs: PostgreSQL cannot
# combine a hashed `IN (SELECT ...)` with the other two in a bitmap, so the ORs scanned the
# whole table for every batch (a deadline day's 200,000 answers slowed to a crawl). Each
# answer and each respondent is looked up on its own (LATERAL, fenced by OFFSET 0 so that it
# is not flattened into a join), and the ids found are read by the primary key
# (`= ANY(ARRAY(...))`): given a full batch's 2,000 answers and respondents the planner
# otherwise preferred scanning the whole table, whose cost grows with every action stored.
_LOCKED = text(
    _SELECT + "WHERE action_id = ANY(ARRAY("
    "SELECT a.action_id FROM unnest(CAST(:responses AS uuid[])) AS r (response_event_id) "
    "CROSS JOIN LATERAL (SELECT action_id FROM closed_loop.actions "
    "WHERE response_event_id = r.response_event_id OFFSET 0) AS a "
    "UNION ALL SELECT unnest(CAST(:ids AS uuid[])) "
    "UNION ALL SELECT a.action_id "
    "FROM unnest(CAST(:tenants AS text[]), CAST(:keys AS text[])) AS r (tenant, respondent_key) "
    "CROSS JOIN LATERAL (SELECT action_id FROM closed_loop.actions "
    "WHERE tenant = r.tenant AND respondent_key = r.respondent_key OFFSET 0) AS a)) FOR UPDATE"
)
_HELD = text(
    _SELECT + "WHERE release_at <= :now ORDER BY release_at LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_CHANGEABLE = (
    "action_id", "revision", "released_revision", "cancelled", "attach_to", "release_at",
    "payload", "trace_id", "task_closed_at",
)  # fmt: skip
_UPDATE = text(
    "UPDATE closed_loop.actions AS a SET revision = u.revision, "
    "released_revision = u.released_revision, cancelled = u.cancelled, "
    "attach_to = u.attach_to, release_at = u.release_at, payload = CAST(u.payload AS json), "
    "trace_id = u.trace_id, task_closed_at = u.task_closed_at, updated_at = now() "
    "FROM unnest(CAST(:action_id AS uuid[]), CAST(:revision AS int[]), "
    "CAST(:released_revision AS int[]), CAST(:cancelled AS boolean[]), "
    "CAST(:attach_to AS uuid[]), CAST(:release_at AS timestamptz[]), "
    "CAST(:payload AS text[]), CAST(:trace_id AS text[]), "
    "CAST(:task_closed_at AS timestamptz[])) "
    "AS u(action_id, revision, released_revision, cancelled, attach_to, release_at, payload, "
    "trace_id, task_closed_at) WHERE a.action_id = u.action_id"
)


class StoredState(ActionState):
    """A state as loaded from its row. Its payload is parsed on first read: a batch loads every
    earlier action of its respondents and reads the payloads of few (the cool-down looks at
    their columns), and parsing was the largest part of loading. Until replaced, the payload
    is marked, and written back, by the text it was loaded from."""

    _text: str | None
    _parsed: Action | None

    @property
    def payload(self) -> Action:
        if self._parsed is None:
            assert self._text is not None
            self._parsed = _action(self._text)
        return self._parsed

    @payload.setter
    def payload(self, action: Action) -> None:
        self._parsed, self._text = action, None

    def payload_mark(self) -> object:
        return self._text if self._text is not None else self._parsed

    def payload_text(self) -> str | None:
        """The payload's JSON as loaded, while it is the payload."""
        return self._text


def state_of(row: Any) -> ActionState:
    """The state of a stored row (an `ActionRow`, or a row of its columns)."""
    state = StoredState(
        action_id=row.action_id, tenant=row.tenant, response_event_id=row.response_event_id,
        rule_id=row.rule_id, type=row.type, respondent_key=row.respondent_key,
        answered_at=row.answered_at, revision=row.revision,
        released_revision=row.released_revision, cancelled=row.cancelled,
        attach_to=row.attach_to, release_at=row.release_at,
        payload=None,  # type: ignore[arg-type]  # set below, unparsed
        trace_id=row.trace_id, task_closed_at=row.task_closed_at,
    )  # fmt: skip
    if isinstance(row.payload, str):
        state._text = row.payload
    else:
        state.payload = Action.model_validate(row.payload)
    return state


def _action(payload: str) -> Action:
    # As text (the hot path reads `payload::text`), pydantic parses it without a dict between.
    return Action.model_validate_json(payload)


class Encoded:
    """Each action's JSON, encoded once for the batch: the same text is the actions row's
    payload and the outbox record's value. Keeps the actions it encoded, so an id is never
    reused while the batch runs."""

    def __init__(self) -> None:
        self._done: dict[int, tuple[Action, bytes]] = {}

    def __call__(self, action: Action) -> bytes:
        found = self._done.get(id(action))
        if found is None:
            found = self._done[id(action)] = (action, action.to_bytes())
        return found[1]

    def payload(self, state: ActionState) -> str:
        if isinstance(state, StoredState) and (text := state.payload_text()) is not None:
            return text
        return self(state.payload).decode()


def _values(state: ActionState, columns: tuple[str, ...], encoded: Encoded) -> tuple[object, ...]:
    return tuple(encoded.payload(state) if c == "payload" else getattr(state, c) for c in columns)


@dataclass
class StoredBook:
    """A book loaded from PostgreSQL (its rows locked)."""

    book: Book
    encoded: Encoded = field(default_factory=Encoded)

    async def save(self, session: AsyncSession) -> None:
        """The new and changed states written back: one statement each, whatever their number."""
        new, changed = self.book.changes()
        if new:
            added = (_values(s, _COLUMNS, self.encoded) for s in new)
            await session.execute(_INSERT, as_columns(added, _COLUMNS))
        if changed:
            rows = (_values(s, _CHANGEABLE, self.encoded) for s in changed)
            await session.execute(_UPDATE, as_columns(rows, _CHANGEABLE))
        self.book.checkpoint()


async def load_book(
    session: AsyncSession,
    response_event_ids: Collection[uuid.UUID] = (),
    respondents: Collection[tuple[str, str]] = (),
    action_ids: Collection[uuid.UUID] = (),
) -> StoredBook:
    """The actions of these answers, of these (tenant, respondent key)s and with these ids,
    locked: the releaser skips them until this transaction ends. With an answer's actions
    come those of the respondent they were decided for, which a version naming another
    respondent does not: the answers attached to them are theirs."""
    if not (response_event_ids or respondents or action_ids):
        return StoredBook(Book())
    rows = await _locked(session, response_event_ids, respondents, action_ids)
    wanted = set(response_event_ids)
    others = {
        (r.tenant, r.respondent_key)
        for r in rows
        if r.response_event_id in wanted and (r.tenant, r.respondent_key) not in respondents
    }
    if others:
        known = {r.action_id for r in rows}
        more = await _locked(session, (), others, ())
        rows += [r for r in more if r.action_id not in known]
    return StoredBook(Book(state_of(r) for r in rows))


async def _locked(
    session: AsyncSession,
    response_event_ids: Collection[uuid.UUID],
    respondents: Collection[tuple[str, str]],
    action_ids: Collection[uuid.UUID],
) -> list[Any]:
    params = {
        "responses": list(response_event_ids),
        "ids": list(action_ids),
        "tenants": [t for t, _ in respondents],
        "keys": [k for _, k in respondents],
    }
    return list(await session.execute(_LOCKED, params))


async def held_until(session: AsyncSession, now: datetime, limit: int) -> StoredBook:
    """Held revisions whose wait is over; rows a consumer is deciding on are skipped."""
    rows = await session.execute(_HELD, {"now": now, "limit": limit})
    return StoredBook(Book(state_of(r) for r in rows))


def outbox_id(action: Action) -> uuid.UUID:
    # Revision 1 keeps the action's own id as its outbox id; later revisions get their own.
    if action.revision == 1:
        return action.action_id
    return uuid.uuid5(action.action_id, f"revision-{action.revision}")


async def add_to_outbox(
    session: AsyncSession,
    released: Sequence[tuple[Action, str | None]],
    keys: DataKeys,
    encoded: Encoded | None = None,
) -> None:
    """`encoded`: the batch's encodings (an action the book wrote is not encoded again)."""
    encode = encoded or Encoded()
    # An answer from before ingest sealed contact data still holds it in plaintext: the action
    # leaves sealed all the same.
    sealed = await seal_events(session, keys, [a for a, _ in released])
    # Ids are UUID5(answer, rule[, revision]): enqueueing the same decision twice stores one row.
    events = [
        OutboxEvent(outbox_id(a), a.tenant, a.key, encode(a), trace_id)
        for a, (_, trace_id) in zip(sealed, released, strict=True)
    ]
    await enqueue(session, OUTBOX, topics.ACTIONS, events)


HELD = Gauge(
    "anbefal_closed_loop_held_actions",
    "Actions held for the late-comment debounce, not yet in the outbox (counted at scrape)",
)
RELEASE_OVERDUE = Gauge(
    "anbefal_closed_loop_release_overdue_seconds",
    "How long the oldest held action has been due for release (0: none); grows if the "
    "releaser is stuck (counted at scrape)",
)


async def refresh_held_gauges(conn: AsyncConnection) -> None:
    held, oldest = (
        await conn.execute(
            select(func.count(), func.min(ActionRow.release_at)).where(
                ActionRow.release_at.is_not(None)
            )
        )
    ).one()
    HELD.set(held)
    now = datetime.now(UTC)
    RELEASE_OVERDUE.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
