from __future__ import annotations

from datetime import date

import pytest

from anbefal.scoring.windows import custom, whole, window, window_days


@pytest.mark.parametrize(
    ("name", "today", "expected"),
    [
        ("1d", date(2026, 11, 22), (date(2026, 11, 22), date(2026, 11, 22))),
        ("7d", date(2026, 11, 22), (date(2026, 11, 16), date(2026, 11, 22))),
        ("30d", date(2026, 3, 1), (date(2026, 1, 31), date(2026, 3, 1))),
        ("month", date(2026, 11, 22), (date(2026, 11, 1), date(2026, 11, 22))),
        ("quarter", date(2026, 11, 22), (date(2026, 10, 1), date(2026, 11, 22))),
        ("quarter", date(2026, 3, 31), (date(2026, 1, 1), date(2026, 3, 31))),
    ],
)
def test_window_days(name: str, today: date, expected: tuple[date, date]) -> None:
    assert window_days(name, today) == expected


@pytest.mark.parametrize("name", ["0d", "week", "", "years"])
def test_unknown_windows_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="window"):
        window_days(name, date(2026, 1, 1))


@pytest.mark.parametrize(
    ("name", "today", "expected"),
    [
        # A calendar window so far against the whole previous period.
        ("month", date(2026, 12, 4), (date(2026, 12, 1), date(2026, 12, 4),
                                      date(2026, 11, 1), date(2026, 11, 30))),
        ("month", date(2026, 3, 31), (date(2026, 3, 1), date(2026, 3, 31),
                                      date(2026, 2, 1), date(2026, 2, 28))),
        ("month", date(2026, 1, 1), (date(2026, 1, 1), date(2026, 1, 1),
                                     date(2025, 12, 1), date(2025, 12, 31))),
        ("quarter", date(2026, 11, 22), (date(2026, 10, 1), date(2026, 11, 22),
                                         date(2026, 7, 1), date(2026, 9, 30))),
        ("quarter", date(2026, 2, 1), (date(2026, 1, 1), date(2026, 2, 1),
                                       date(2025, 10, 1), date(2025, 12, 31))),
        ("year", date(2026, 6, 15), (date(2026, 1, 1), date(2026, 6, 15),
                                     date(2025, 1, 1), date(2025, 12, 31))),
        # A rolling window against the window of equal length before it.
        ("30d", date(2026, 3, 1), (date(2026, 1, 31), date(2026, 3, 1),
                                   date(2026, 1, 1), date(2026, 1, 30))),
        ("1d", date(2026, 3, 1), (date(2026, 3, 1), date(2026, 3, 1),
                                  date(2026, 2, 28), date(2026, 2, 28))),
    ],
)  # fmt: skip
def test_each_window_names_the_period_it_is_compared_with(
    name: str, today: date, expected: tuple[date, date, date, date]
) -> None:
    w = window(name, today)
    assert (w.first, w.last, w.previous_first, w.previous_last) == expected


def test_a_custom_range_and_a_whole_period_compare_with_the_one_before() -> None:
    w = custom(date(2026, 11, 10), date(2026, 11, 19))
    assert (w.previous_first, w.previous_last) == (date(2026, 10, 31), date(2026, 11, 9))
    w = whole("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), date(2025, 10, 1))
    assert (w.previous_first, w.previous_last) == (date(2025, 10, 1), date(2025, 12, 31))
