"""SLA clocks, pure: the customer's wall clock and the assignee's business hours.

Wall clock: N real hours after the answer (arithmetic in UTC, so a daylight-saving change never
makes 48 hours into 47 or 49). Business hours: N working hours of the assignee, counted in the
assignee's time zone on their working days, skipping their country's public holidays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# The holiday calendar a tenant gets when it names none: by its time zone.
COUNTRY_BY_ZONE = {
    "Europe/Copenhagen": "DK",
    "Europe/Stockholm": "SE",
    "Europe/Oslo": "NO",
    "Europe/Helsinki": "FI",
    "Europe/Berlin": "DE",
    "Europe/Amsterdam": "NL",
    "Europe/London": "GB",
    "Atlantic/Faroe": "FO",
    "America/Nuuk": "GL",
}
# A due time further away than this is a configuration error, not a deadline.
MAX_DAYS = 3 * 366


@lru_cache(maxsize=64)
def holiday_calendar(country: str | None) -> Callable[[date], bool]:
    """`is_holiday(day)` for a country's public holidays; no country: no holidays."""
    if country is None:
        return lambda _day: False
    # The calendar object fills in years on demand as days are looked up.
    calendar = holidays.country_holidays(country)
    return lambda day: day in calendar


@dataclass(frozen=True)
class WorkingHours:
    zone: ZoneInfo
    start: time
    end: time
    weekdays: frozenset[int]  # Monday is 0
    is_holiday: Callable[[date], bool]

    def working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and not self.is_holiday(day)


def wall_clock_due(answered_at: datetime, hours: float) -> datetime:
    # Python adds a timedelta to an aware datetime on the wall clock of its zone, so across a
    # daylight-saving change "+48 h" in Europe/Copenhagen would be 47 or 49 real hours. In UTC
    # wall clock and real time agree.
    return answered_at.astimezone(UTC) + timedelta(hours=hours)


def business_hours_due(start: datetime, hours: float, hours_of: WorkingHours) -> datetime:
    """The instant `hours` working hours after `start` (in UTC).

    Time before the day's opening, after its closing, on days off and on holidays does not
    count. Each day's opening and closing are local wall times converted to UTC, so a day that
    changes its UTC offset still has its full working hours."""
    remaining = timedelta(hours=hours)
    start = start.astimezone(UTC)
    day = start.astimezone(hours_of.zone).date()
    for _ in range(MAX_DAYS):
        if hours_of.working_day(day):
            opens = datetime.combine(day, hours_of.start, hours_of.zone).astimezone(UTC)
            closes = datetime.combine(day, hours_of.end, hours_of.zone).astimezone(UTC)
            begin = max(opens, start)
            if begin < closes:
                if begin + remaining <= closes:
                    return begin + remaining
                remaining -= closes - begin
        day += timedelta(days=1)
    raise ValueError(f"{hours} working hours do not fit in {MAX_DAYS} days")
