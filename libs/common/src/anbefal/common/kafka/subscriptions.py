"""Typed subscriptions: a service declares `{EventType: handler}`; the loop consumes the topics
that carry those types and hands each handler the batch's events of its type, with one
`HandlerContext` for the batch.

Within a batch's transaction the handlers run in a fixed order: tenant settings first (saved
through the service's `TenantProjection`), so the batch's other events see their tenants, then
the other types in the order the service declared them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.contact import open_events
from anbefal.common.datakeys import DataKeys
from anbefal.common.events import TOPIC_MODELS, EventModel, TenantSettings
from anbefal.common.kafka.messages import Message
from anbefal.common.tenants import TenantProjection

Row = TypeVar("Row")


class HandlerContext(Generic[Row]):
    """What every handler of one batch gets besides its events: the batch's transaction, the
    stored settings of the batch's tenants, the batch's clock and each event's trace id."""

    def __init__(
        self,
        session: AsyncSession,
        now: datetime,
        *,
        traces: Mapping[int, str | None],
        tenant_names: set[str],
        projection: TenantProjection[Any] | None,
    ) -> None:
        self.session = session
        self.now = now
        self._traces = traces
        self._tenant_names = tenant_names
        self._projection = projection
        self._tenants: dict[str, Row] | None = None

    def trace_id(self, event: EventModel) -> str | None:
        """The trace id the record of `event` carried."""
        return self._traces.get(id(event))

    async def tenants(self) -> dict[str, Row]:
        """The stored settings of the batch's tenants (loaded on first use; a tenant whose
        settings never came is absent)."""
        if self._tenants is None:
            if self._projection is None:
                self._tenants = {}
            else:
                self._tenants = await self._projection.load(self.session, self._tenant_names)
        return self._tenants


# A handler of one event type: `(context, events)`, the events in offset order.
Handler = Callable[[HandlerContext[Any], Sequence[Any]], Awaitable[None]]


def utcnow() -> datetime:
    """The production clock; tests hand handlers and workers another."""
    return datetime.now(UTC)


class Subscriptions(Generic[Row]):
    def __init__(
        self,
        handlers: Mapping[type[EventModel], Handler],
        *,
        tenants: TenantProjection[Any] | None = None,
        clock: Callable[[], datetime] = utcnow,
        keys: DataKeys | None = None,
    ) -> None:
        """`keys`: open the respondents' sealed contact data before the handlers see it (only
        a service that uses name, email or phone needs it; without, they stay sealed)."""
        carried = set(TOPIC_MODELS.values())
        unknown = [t.__name__ for t in handlers if t not in carried]
        if unknown:
            raise ValueError(f"no topic carries {', '.join(unknown)}")
        self._handlers = dict(handlers)
        self._projection = tenants
        self._clock = clock
        self._keys = keys
        wanted = ([TenantSettings] if tenants is not None else []) + list(handlers)
        # Tenant settings first, then the declared order.
        self._order: list[type[EventModel]] = sorted(
            dict.fromkeys(wanted), key=lambda t: t is not TenantSettings
        )

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics that carry the subscribed types, tenant settings first."""
        return tuple(
            sorted((t for t, m in TOPIC_MODELS.items() if m in self._order), key=self.rank)
        )

    def rank(self, topic: str) -> int:
        """Where a topic's batches go among a poll's batches: tenant settings first."""
        model = TOPIC_MODELS.get(topic)
        return self._order.index(model) if model in self._order else len(self._order)

    async def dispatch(self, session: AsyncSession, messages: Sequence[Message]) -> None:
        """Run the handlers over the messages of one transaction, each with its own type's."""
        if self._keys is not None:
            opened = await open_events(session, self._keys, [m.event for m in messages])
            messages = [replace(m, event=e) for m, e in zip(messages, opened, strict=True)]
        by_type: dict[type[EventModel], list[EventModel]] = defaultdict(list)
        for message in messages:
            by_type[type(message.event)].append(message.event)
        context: HandlerContext[Row] = HandlerContext(
            session,
            self._clock(),
            traces={id(m.event): m.trace_id for m in messages},
            tenant_names={
                t for m in messages if isinstance(t := getattr(m.event, "tenant", None), str)
            },
            projection=self._projection,
        )
        for event_type in self._order:
            events = by_type.get(event_type)
            if not events:
                continue
            if event_type is TenantSettings and self._projection is not None:
                settings = [e for e in events if isinstance(e, TenantSettings)]
                await self._projection.save(session, settings)
            handler = self._handlers.get(event_type)
            if handler is not None:
                await handler(context, events)
