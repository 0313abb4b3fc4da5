from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from anbefal.closed_loop.sla import (
    WorkingHours,
    business_hours_due,
    holiday_calendar,
    wall_clock_due,
)

CPH = ZoneInfo("Europe/Copenhagen")
DANISH = WorkingHours(CPH, time(8), time(16), frozenset(range(5)), holiday_calendar("DK"))


def test_danish_public_holidays_are_known() -> None:
    is_holiday = holiday_calendar("DK")
    assert is_holiday(date(2026, 12, 25))  # Christmas Day
    assert is_holiday(date(2026, 4, 6))  # Easter Monday
    assert not is_holiday(date(2026, 12, 23))
    assert not holiday_calendar(None)(date(2026, 12, 25))


def test_business_hours_skip_the_weekend() -> None:
    # Friday 14:00: two hours left that day, six more from Monday 08:00.
    friday = datetime(2026, 11, 27, 14, 0, tzinfo=CPH)
    due = business_hours_due(friday, 8, DANISH)
    assert due.astimezone(CPH) == datetime(2026, 11, 30, 14, 0, tzinfo=CPH)


def test_business_hours_skip_a_holiday_and_the_weekend() -> None:
    # Thursday 24 December 2026 15:00: 1 hour that day; Friday 25th and Saturday 26th are
    # holidays (and 26th, 27th the weekend): the rest runs from Monday 28th 08:00.
    eve = datetime(2026, 12, 24, 15, 0, tzinfo=CPH)
    due = business_hours_due(eve, 48, DANISH)
    # 1 h on the 24th, then 8 h a day on 28, 29, 30, 31 Dec (32 h), 1 Jan is a holiday,
    # then Mon 4 Jan 8 h (41 h) and 7 h on Tuesday 5 Jan: 15:00.
    assert due.astimezone(CPH) == datetime(2027, 1, 5, 15, 0, tzinfo=CPH)


def test_an_answer_outside_working_hours_starts_at_the_next_opening() -> None:
    saturday_night = datetime(2026, 11, 28, 23, 30, tzinfo=CPH)
    due = business_hours_due(saturday_night, 2, DANISH)
    assert due.astimezone(CPH) == datetime(2026, 11, 30, 10, 0, tzinfo=CPH)


def test_the_assignees_own_time_zone_counts() -> None:
    # 09:00 in Copenhagen is 03:00 in New York: the New York assignee starts at 08:00 local.
    new_york = WorkingHours(
        ZoneInfo("America/New_York"), time(8), time(16), frozenset(range(5)), holiday_calendar("US")
    )
    answered = datetime(2026, 11, 24, 9, 0, tzinfo=CPH)
    due = business_hours_due(answered, 4, new_york)
    assert due == datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo("America/New_York"))


def test_a_working_day_across_the_october_change_keeps_its_hours() -> None:
    # Sunday 25 October 2026 changes the offset at 03:00; someone who works every day gets
    # 1 h on Saturday (+02:00) and all 8 h of Sunday (+01:00): due Sunday 16:00 local.
    every_day = WorkingHours(CPH, time(8), time(16), frozenset(range(7)), holiday_calendar(None))
    start = datetime(2026, 10, 24, 15, 0, tzinfo=CPH)
    due = business_hours_due(start, 9, every_day)
    assert due.astimezone(CPH) == datetime(2026, 10, 25, 16, 0, tzinfo=CPH)
    assert due.astimezone(CPH).utcoffset() == timedelta(hours=1)
    # Real time: 1 h + the night + 8 h; the night is one hour longer than the wall clock says.
    assert due - start == timedelta(hours=26)


def test_48_wall_clock_hours_across_the_october_change_are_48_real_hours() -> None:
    answered = datetime(2026, 10, 24, 12, 0, tzinfo=CPH)
    due = wall_clock_due(answered, 48)
    assert due.timestamp() - answered.timestamp() == 48 * 3600


@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    st.integers(1, 200),
)
def test_business_due_times_are_after_the_start_and_inside_working_hours(
    start: datetime, hours: int
) -> None:
    due = business_hours_due(start, hours, DANISH)
    local = due.astimezone(CPH)
    # At least `hours` real hours later (time off only adds), on a working day, in hours.
    assert due - start >= timedelta(hours=hours)
    assert DANISH.working_day(local.date())
    assert time(8) < local.time() <= time(16)
