"""Rolling and calendar windows as inclusive day ranges in the tenant's time zone, each with
the period it is compared with (pure).

- A rolling window (`30d`) is today and the days before it; it is compared with the window of
  the same length just before it.
- A calendar window (`month`, `quarter`, `year`) runs from the period's first day to today; it
  is compared with the whole previous calendar period (on 4 December: 1-4 December against all
  of November), since that is the figure a reader remembers as "last month".
- A whole calendar period (`period=2026-11`) is compared with the whole period before it, and a
  custom range with the range of the same length just before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_ROLLING = re.compile(r"^(\d{1,4})d$")
WINDOW_PATTERN = r"^(\d{1,4}d|month|quarter|year)$"
CALENDAR = ("month", "quarter", "year")
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """The days a figure covers and the days of the figure it is compared with."""

    name: str
    first: date
    last: date
    previous_first: date
    previous_last: date


def _period_start(name: str, day: date) -> date:
    if name == "month":
        return day.replace(day=1)
    if name == "quarter":
        return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    return day.replace(month=1, day=1)


def window(name: str, today: date) -> Window:
    """The window `name` (`30d`, `month`, `quarter`, `year`) as of `today`."""
    match = _ROLLING.match(name)
    if match:
        days = int(match.group(1))
        if days < 1:
            raise ValueError("a rolling window has at least one day")
        return custom(today - timedelta(days=days - 1), today, name)
    if name in CALENDAR:
        first = _period_start(name, today)
        return Window(name, first, today, _period_start(name, first - _DAY), first - _DAY)
    raise ValueError(f"unknown window {name!r}")


def custom(first: date, last: date, name: str = "custom") -> Window:
    """[first, last], compared with the days of the same number just before."""
    length = last - first + _DAY
    return Window(name, first, last, first - length, first - _DAY)


def whole(name: str, first: date, last: date, previous_first: date) -> Window:
    """A whole calendar period, compared with the whole one before it."""
    return Window(name, first, last, previous_first, first - _DAY)


def window_days(name: str, today: date) -> tuple[date, date]:
    """`30d` is today and the 29 days before it; `month`/`quarter`/`year` run from their first
    day."""
    w = window(name, today)
    return w.first, w.last
