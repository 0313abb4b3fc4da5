"""Retention: what personal data a service keeps, and for how long (the tenant's settings).

Each service that holds personal data declares its kinds (closed_loop: `answers`, `actions`;
notify: `tasks`, `emails`, ...) with an anonymiser per kind: `(session, now, limit) -> rows`
anonymises up to `limit` rows whose tenant's retention has passed at `now`, and returns how many
it changed. The anonymisers keep every figure (scores, dates, segments, states) and remove only
the identity, with the same code the erasure of one person uses. One polling worker per service
runs them, once a day by default (`ANBEFAL_RETENTION_INTERVAL_S`), draining in batches;
`anbefal_retention_anonymised_total{service,kind}` counts the rows once their batch committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Generic, TypeVar

from prometheus_client import Counter
from sqlalchemy import ColumnElement, SQLColumnExpression, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.erasure import ERASED_PREFIX
from anbefal.common.events import TenantSettings
from anbefal.common.kafka.subscriptions import utcnow
from anbefal.common.worker import PollingWorker, on_commit

ANONYMISED = Counter(
    "anbefal_retention_anonymised_total",
    "Rows whose personal data the retention worker anonymised (or deleted), by service and kind",
    ["service", "kind"],
)

Row = TypeVar("Row")
# (session, now, limit) -> rows anonymised (at most `limit`).
Anonymiser = Callable[[AsyncSession, datetime, int], Awaitable[int]]
Clock = Callable[[], datetime]


def is_erased(key: SQLColumnExpression[str]) -> ColumnElement[bool]:
    return key.startswith(ERASED_PREFIX, autoescape=True)


def default_days(field: str) -> int:
    """A retention setting's default (`TenantSettings.<field>`), for tenants without settings."""
    default = TenantSettings.model_fields[field].default
    assert isinstance(default, int), field
    return default


def expired(
    stamp: SQLColumnExpression[datetime],
    days: SQLColumnExpression[int],
    default: int,
    now: datetime,
) -> ColumnElement[bool]:
    """`stamp` lies further back than the tenant's `days`, or `default` days where the tenant's
    settings never came (`days` from an outer join is NULL)."""
    kept = func.coalesce(days, default)
    return stamp < literal(now) - func.make_interval(0, 0, 0, kept)


@dataclass(frozen=True)
class Expiry(Generic[Row]):
    """One kind of a service's personal data: rows of `model` whose `stamp` is past their
    tenant's `setting` (a column of the service's tenant projection `tenants`, named as the
    `TenantSettings` field) and that match `pending` (not yet anonymised) are handed, a batch
    at a time and locked, to `anonymise`. Rows a consumer holds are left for the next run."""

    model: type[Row]
    tenants: type[Any]
    setting: str
    stamp: SQLColumnExpression[datetime]
    pending: tuple[ColumnElement[bool], ...]
    anonymise: Callable[[AsyncSession, Sequence[Row]], Awaitable[object]]
    # For tenants whose settings never came: the `TenantSettings` default unless given.
    default: int | None = None

    async def __call__(self, session: AsyncSession, now: datetime, limit: int) -> int:
        days = getattr(self.tenants, self.setting)
        default = self.default if self.default is not None else default_days(self.setting)
        found = list(
            await session.scalars(
                select(self.model)
                .outerjoin(self.tenants, self.tenants.tenant == self.model.tenant)  # type: ignore[attr-defined]
                .where(expired(self.stamp, days, default, now), *self.pending)
                .limit(limit)
                .with_for_update(of=self.model, skip_locked=True)
            )
        )
        if found:
            await self.anonymise(session, found)
        return len(found)


def each(
    anonymise: Callable[[Row], None],
) -> Callable[[AsyncSession, Sequence[Row]], Awaitable[None]]:
    """A batch anonymiser from one that changes a row in place."""

    async def batch(_session: AsyncSession, rows: Sequence[Row]) -> None:
        for row in rows:
            anonymise(row)

    return batch


class RetentionWorker:
    """Runs a service's anonymisers through the worker loop, with a clock tests can move."""

    def __init__(
        self,
        service: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        kinds: Mapping[str, Anonymiser],
        *,
        interval_s: float,
        clock: Clock = utcnow,
        batch: int = 500,
    ) -> None:
        self._service = service
        self._kinds = dict(kinds)
        self._clock = clock
        self._batch = batch
        self.worker = PollingWorker(
            f"{service}-retention", sessionmaker, self.step, poll_s=interval_s
        )

    async def step(self, session: AsyncSession) -> int:
        """One batch of each kind; the worker repeats it until nothing is left."""
        now = self._clock()
        done = 0
        for kind, anonymise in self._kinds.items():
            rows = await anonymise(session, now, self._batch)
            if rows:
                on_commit(session, partial(ANONYMISED.labels(self._service, kind).inc, rows))
            done += rows
        return done
