"""When a tenant's digest is due, and which days it covers. Pure: the worker gives the clock.

Periods are counted from a fixed Monday, so every copy of notify, and every restart, agrees on
them without keeping state: with a cadence of 14 days, a period starts every other Monday. The
digest of a period goes out on its first weekday at the tenant's digest hour (local time), and
covers the days before that start (the period that just ended).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EPOCH = date(2024, 1, 1)  # a Monday


@dataclass(frozen=True)
class Period:
    start: date  # the digest's key: sent once per (tenant, start)
    send_at: datetime  # aware, UTC
    covers_from: date  # inclusive
    covers_to: date  # inclusive: the day before `start`


def _first_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def period(now: datetime, *, time_zone: str, every_days: int, hour: int) -> Period:
    """The period `now` falls in, in the tenant's zone."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    start = EPOCH + timedelta(days=((today - EPOCH).days // every_days) * every_days)
    local = datetime.combine(_first_weekday(start), time(hour), tzinfo=zone)
    return Period(
        start=start,
        send_at=local.astimezone(ZoneInfo("UTC")),
        covers_from=start - timedelta(days=every_days),
        covers_to=start - timedelta(days=1),
    )


def due(now: datetime, *, time_zone: str, every_days: int, hour: int) -> Period | None:
    """The period whose digest should go out now, or None (not yet its weekday morning)."""
    found = period(now, time_zone=time_zone, every_days=every_days, hour=hour)
    return found if now >= found.send_at else None
