"""When the digest goes out: every N days, a weekday morning in the tenant's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from anbefal.notify.digest.schedule import EPOCH, due, period

CPH = "Europe/Copenhagen"


def test_a_fortnightly_digest_goes_out_every_other_monday_at_eight_copenhagen_time() -> None:
    # Monday 30 November 2026, 07:00 UTC = 08:00 in Copenhagen (winter time).
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    found = period(monday, time_zone=CPH, every_days=14, hour=8)
    assert found.start == date(2026, 11, 30)
    assert found.send_at == monday
    # It covers the fourteen days before.
    assert (found.covers_from, found.covers_to) == (date(2026, 11, 16), date(2026, 11, 29))
    assert due(monday, time_zone=CPH, every_days=14, hour=8) == found
    # A minute earlier it is not due yet; a week later it is the same period (already sent).
    early = datetime(2026, 11, 30, 6, 59, tzinfo=UTC)
    assert due(early, time_zone=CPH, every_days=14, hour=8) is None
    later = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert period(later, time_zone=CPH, every_days=14, hour=8).start == date(2026, 11, 30)
    next_one = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
    assert period(next_one, time_zone=CPH, every_days=14, hour=8).start == date(2026, 12, 14)


def test_the_hour_is_local_in_summer_too() -> None:
    # Monday 15 June 2026 is a period start (cadence 7); 08:00 CEST = 06:00 UTC.
    found = period(datetime(2026, 6, 15, 12, tzinfo=UTC), time_zone=CPH, every_days=7, hour=8)
    assert found.start == date(2026, 6, 15)
    assert found.send_at == datetime(2026, 6, 15, 6, 0, tzinfo=UTC)


def test_a_period_that_starts_on_a_weekend_goes_out_on_the_monday() -> None:
    # With a 10-day cadence the start moves through the week: Saturday 17 October 2026 is one.
    saturday = date(2026, 10, 17)
    assert saturday.weekday() == 5
    assert (saturday - EPOCH).days % 10 == 0
    noon = datetime.combine(saturday, time(12), tzinfo=UTC)
    found = period(noon, time_zone=CPH, every_days=10, hour=8)
    assert found.start == saturday
    assert found.send_at == datetime(2026, 10, 19, 6, 0, tzinfo=UTC)  # Monday 08:00 CEST
    assert due(noon, time_zone=CPH, every_days=10, hour=8) is None


def test_copies_and_restarts_agree_on_the_period_without_state() -> None:
    moments = [datetime(2026, 12, 1, h, tzinfo=UTC) for h in range(0, 23)]
    starts = {period(m, time_zone=CPH, every_days=14, hour=8).start for m in moments}
    assert starts == {date(2026, 11, 30)}
