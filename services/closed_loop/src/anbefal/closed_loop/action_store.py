"""The actions' SQL: a book of action states loaded from `closed_loop.actions` (locked) and its
changes written back, the held revisions for the releaser, and the outbox of decided revisions."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import Gauge
from sqlalchemy import ColumnElement, false, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from anbefal.closed_loop.actions import ActionState, Book
from anbefal.closed_loop.models import OUTBOX, ActionRow
from anbefal.common import topics
from anbefal.common.contact import seal_events
from anbefal.common.datakeys import DataKeys
from anbefal.common.events import Action
from anbefal.common.outbox import OutboxEvent, enqueue


def state_of(row: ActionRow) -> ActionState:
    return ActionState(
        action_id=row.action_id, tenant=row.tenant, response_event_id=row.response_event_id,
        rule_id=row.rule_id, type=row.type, respondent_key=row.respondent_key,
        answered_at=row.answered_at, revision=row.revision,
        released_revision=row.released_revision, cancelled=row.cancelled,
        attach_to=row.attach_to, release_at=row.release_at,
        payload=Action.model_validate(row.payload), trace_id=row.trace_id,
        task_closed_at=row.task_closed_at,
    )  # fmt: skip


def write(row: ActionRow, state: ActionState) -> None:
    """The state's changeable fields onto its row (the identity fields never change)."""
    row.revision, row.released_revision = state.revision, state.released_revision
    row.cancelled, row.attach_to, row.release_at = (
        state.cancelled,
        state.attach_to,
        state.release_at,
    )
    row.payload = state.payload.model_dump(mode="json")
    row.trace_id, row.task_closed_at = state.trace_id, state.task_closed_at


def row_of(state: ActionState) -> ActionRow:
    row = ActionRow(
        action_id=state.action_id, tenant=state.tenant,
        response_event_id=state.response_event_id, rule_id=state.rule_id, type=state.type,
        respondent_key=state.respondent_key, answered_at=state.answered_at,
    )  # fmt: skip
    write(row, state)
    return row


@dataclass
class StoredBook:
    """A book loaded from PostgreSQL, with the rows it came from."""

    book: Book
    rows: dict[uuid.UUID, ActionRow]

    async def save(self, session: AsyncSession) -> None:
        new, changed = self.book.changes()
        for state in changed:
            write(self.rows[state.action_id], state)
        for state in new:
            row = row_of(state)
            session.add(row)
            self.rows[state.action_id] = row
        self.book.checkpoint()
        await session.flush()


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
    conditions: list[ColumnElement[bool]] = []
    if response_event_ids:
        conditions.append(ActionRow.response_event_id.in_(response_event_ids))
    if respondents:
        conditions.append(tuple_(ActionRow.tenant, ActionRow.respondent_key).in_(list(respondents)))
    if action_ids:
        conditions.append(ActionRow.action_id.in_(action_ids))
    if not conditions:
        return StoredBook(Book(), {})
    rows = await _locked(session, conditions)
    wanted = set(response_event_ids)
    others = {
        (r.tenant, r.respondent_key)
        for r in rows
        if r.response_event_id in wanted and (r.tenant, r.respondent_key) not in respondents
    }
    if others:
        known = {r.action_id for r in rows}
        more = await _locked(
            session, [tuple_(ActionRow.tenant, ActionRow.respondent_key).in_(list(others))]
        )
        rows += [r for r in more if r.action_id not in known]
    return StoredBook(Book(state_of(r) for r in rows), {r.action_id: r for r in rows})


async def _locked(session: AsyncSession, conditions: list[ColumnElement[bool]]) -> list[ActionRow]:
    rows = await session.scalars(
        select(ActionRow)
        .where(or_(false(), *conditions))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def held_until(session: AsyncSession, now: datetime, limit: int) -> StoredBook:
    """Held revisions whose wait is over; rows a consumer is deciding on are skipped."""
    rows = list(
        await session.scalars(
            select(ActionRow)
            .where(ActionRow.release_at <= now)
            .order_by(ActionRow.release_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    return StoredBook(Book(state_of(r) for r in rows), {r.action_id: r for r in rows})


def outbox_id(action: Action) -> uuid.UUID:
    # Revision 1 keeps the action's own id as its outbox id; later revisions get their own.
    if action.revision == 1:
        return action.action_id
    return uuid.uuid5(action.action_id, f"revision-{action.revision}")


async def add_to_outbox(
    session: AsyncSession, released: Sequence[tuple[Action, str | None]], keys: DataKeys
) -> None:
    # An answer from before ingest sealed contact data still holds it in plaintext: the action
    # leaves sealed all the same.
    sealed = await seal_events(session, keys, [a for a, _ in released])
    # Ids are UUID5(answer, rule[, revision]): enqueueing the same decision twice stores one row.
    events = [
        OutboxEvent(outbox_id(a), a.tenant, a.key, a.to_bytes(), trace_id)
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
