from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from anbefal.notify.localtime import date_time, due, relative, zone

CPH = zone("Europe/Copenhagen")
# Thursday 3 December 2026, 09:30 in Copenhagen (08:30 UTC).
NOW = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "da", "en"),
    [
        (datetime(2026, 12, 3, 13, 0, tzinfo=UTC), "i dag kl. 14:00", "today at 14:00"),
        (datetime(2026, 12, 4, 13, 0, tzinfo=UTC), "i morgen kl. 14:00", "tomorrow at 14:00"),
        (datetime(2026, 12, 2, 22, 59, tzinfo=UTC), "i går kl. 23:59", "yesterday at 23:59"),
        # 23:30 UTC on the 3rd is already the 4th in Copenhagen: tomorrow, by the reader's day.
        (datetime(2026, 12, 3, 23, 30, tzinfo=UTC), "i morgen kl. 00:30", "tomorrow at 00:30"),
        (datetime(2026, 12, 7, 8, 0, tzinfo=UTC), "på mandag kl. 09:00", "on Monday at 09:00"),
        (datetime(2026, 11, 30, 8, 0, tzinfo=UTC), "sidste mandag kl. 09:00",
         "last Monday at 09:00"),
        (datetime(2026, 12, 13, 8, 0, tzinfo=UTC), "om 10 dage", "in 10 days"),
        (datetime(2026, 11, 20, 8, 0, tzinfo=UTC), "for 13 dage siden", "13 days ago"),
    ],
)  # fmt: skip
def test_due_times_in_words(at: datetime, da: str, en: str) -> None:
    assert relative(at, CPH, "da", NOW) == da
    assert relative(at, CPH, "en", NOW) == en


def test_dates_name_their_zone_and_follow_summer_time() -> None:
    assert date_time(NOW, CPH, "da") == "3. december 2026 kl. 09:30 CET"
    assert date_time(NOW, CPH, "en") == "3 December 2026, 09:30 CET"
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert date_time(summer, CPH, "da") == "1. juli 2026 kl. 14:00 CEST"
    assert date_time(NOW, zone(None), "en") == "3 December 2026, 08:30 UTC"
    assert zone("Not/AZone") == zone(None)
    assert due(NOW + timedelta(days=1), CPH, "da", NOW) == (
        "i morgen kl. 09:30 (4. december 2026 kl. 09:30 CET)"
    )


def test_the_first_zone_known_is_used_and_utc_only_when_none_is() -> None:
    assert zone(None, "Nowhere/Atlantis", "Europe/Copenhagen") == CPH
    assert zone("America/New_York", "Europe/Copenhagen") == zone("America/New_York")
    assert zone(None, "") == UTC
