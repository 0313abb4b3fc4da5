"""The closed-loop figures' period: whole days in the tenant's zone, as a UTC interval."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from anbefal.common.errors import ServiceError
from anbefal.notify.performance.period import period

CPH = ZoneInfo("Europe/Copenhagen")


def test_a_rolling_window_ends_today_in_the_tenants_zone() -> None:
    # 23:30 UTC on 30 November is already 1 December in Copenhagen.
    now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    got = period("7d", None, None, CPH, now)
    assert (got.first_day, got.last_day, got.window) == (
        date(2026, 11, 25),
        date(2026, 12, 1),
        "7d",
    )
    assert got.start == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert got.end == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert period(None, None, None, CPH, now).window == "30d"


def test_a_range_over_the_change_to_summer_time_keeps_whole_local_days() -> None:
    got = period(None, date(2026, 3, 29), date(2026, 3, 29), CPH, datetime.now(UTC))
    assert (got.start, got.end) == (
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
    )
    assert got.window is None


@pytest.mark.parametrize(
    ("window", "first", "last", "field"),
    [
        ("0d", None, None, "window"),
        ("month", None, None, "window"),
        ("9999d", None, None, "window"),
        ("7d", date(2026, 1, 1), date(2026, 1, 2), "window"),
        (None, date(2026, 1, 1), None, "to"),
        (None, None, date(2026, 1, 1), "from"),
        (None, date(2026, 1, 2), date(2026, 1, 1), "to"),
        (None, date(2020, 1, 1), date(2026, 1, 1), "to"),
    ],
)
def test_a_period_that_cannot_be_is_refused_naming_the_field(
    window: str | None, first: date | None, last: date | None, field: str
) -> None:
    with pytest.raises(ServiceError) as refused:
        period(window, first, last, CPH, datetime.now(UTC))
    assert refused.value.status == 422
    assert refused.value.details[0]["field"] == field
