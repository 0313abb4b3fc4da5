"""Rows as one array per column: the shape constant `unnest` statements take.

A consumer's batch written with `INSERT ... SELECT * FROM unnest(CAST(:a AS uuid[]), ...)` (or an
`UPDATE ... FROM unnest(...)`) is the same SQL whatever the batch size: compiled once, prepared
once per connection, one round trip per table. A multi-row VALUES built by SQLAlchemy is new
SQL for every size and costs more CPU to compile than the rows cost to write."""

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
