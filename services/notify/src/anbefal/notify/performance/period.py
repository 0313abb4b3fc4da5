"""The period of the figures (pure): whole days in the tenant's time zone, a rolling window of
days up to today or a custom range, as the half-open UTC interval the SQL compares with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from anbefal.common.errors import Unprocessable

DEFAULT_WINDOW = "30d"
MAX_DAYS = 731


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    zone: ZoneInfo
    window: str | None  # the rolling window asked for; None for a custom range

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the last day (exclusive)."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), self.zone).astimezone(
            UTC
        )


def _refused(message: str, field: str) -> Unprocessable:
    return Unprocessable(
        message, code="invalid_period", details=[{"field": field, "message": message}]
    )


def period(
    window: str | None, first: date | None, last: date | None, zone: ZoneInfo, now: datetime
) -> Period:
    """`window=Nd` is today (in `zone`) and the N-1 days before; `from`/`to` are both given,
    inclusive, at most two years apart. 422 naming the field otherwise."""
    if first is None and last is None:
        name = window or DEFAULT_WINDOW
        match = re.fullmatch(r"(\d{1,4})d", name)
        days = int(match.group(1)) if match else 0
        if not 1 <= days <= MAX_DAYS:
            raise _refused(f"window {name!r}: 1d to {MAX_DAYS}d", "window")
        today = now.astimezone(zone).date()
        return Period(today - timedelta(days=days - 1), today, zone, name)
    if window is not None:
        raise _refused("give `window` or `from` and `to`, not both", "window")
    if first is None or last is None:
        raise _refused("give both `from` and `to`", "from" if first is None else "to")
    if last < first:
        raise _refused("`to` is before `from`", "to")
    if (last - first).days >= MAX_DAYS:
        raise _refused(f"at most {MAX_DAYS} days", "to")
    return Period(first, last, zone, None)
