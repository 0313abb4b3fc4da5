"""Rolling and calendar windows as inclusive day ranges in the tenant's time zone (pure)."""

from __future__ import annotations

import re
from datetime import date, timedelta

_ROLLING = re.compile(r"^(\d{1,4})d$")
WINDOW_PATTERN = r"^(\d{1,4}d|month|quarter)$"


def window_days(name: str, today: date) -> tuple[date, date]:
    """`30d` is today and the 29 days before it; `month`/`quarter` run from their first day."""
    match = _ROLLING.match(name)
    if match:
        days = int(match.group(1))
        if days < 1:
            raise ValueError("a rolling window has at least one day")
        return today - timedelta(days=days - 1), today
    if name == "month":
        return today.replace(day=1), today
    if name == "quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        return today.replace(month=first_month, day=1), today
    raise ValueError(f"unknown window {name!r}")
