from __future__ import annotations

from datetime import date

import pytest

from anbefal.scoring.windows import window_days


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


@pytest.mark.parametrize("name", ["0d", "week", ""])
def test_unknown_windows_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="window"):
        window_days(name, date(2026, 1, 1))
