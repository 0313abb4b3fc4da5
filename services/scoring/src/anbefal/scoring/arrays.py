"""Rows as one array per column: the shape scoring's constant `unnest` statements take."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def as_columns(rows: Iterable[Sequence[object]], names: Sequence[str]) -> dict[str, list[object]]:
    """Rows as one array per column, the shape the unnest statements take."""
    columns: dict[str, list[object]] = {name: [] for name in names}
    lists = list(columns.values())
    for row in rows:
        for values, value in zip(lists, row, strict=True):
            values.append(value)
    return columns
