"""Rows as one array per column: the shape constant `unnest` statements take.

A consumer's batch written with `INSERT ... SELECT * FROM unnest(CAST(:a AS uuid[]), ...)` (or an
`UPDATE ... FROM unnest(...)`) is the same SQL whatever the batch size: compiled once, prepared
once per connection, one round trip per table. A multi-row VALUES built by SQLAlchemy is new
SQL for every size and costs more CPU to compile than the rows cost to write.

`insert_rows` writes dicts into a table that way; `as_columns` shapes rows for hand-written
statements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, cast

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    TextClause,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.schema import ColumnDefault


def as_columns(rows: Iterable[Sequence[object]], names: Sequence[str]) -> dict[str, list[object]]:
    """Rows as one array per column, the shape the unnest statements take."""
    columns: dict[str, list[object]] = {name: [] for name in names}
    lists = list(columns.values())
    for row in rows:
        for values, value in zip(lists, row, strict=True):
            values.append(value)
    return columns


def _array_type(column: Column[Any]) -> str:
    """The PostgreSQL type of the column's array; JSON travels as text (cast per row)."""
    t = column.type
    kinds: tuple[tuple[type[Any] | tuple[type[Any], ...], str], ...] = (
        (JSON, "text"),
        ((UUID, Uuid), "uuid"),
        (Boolean, "boolean"),
        (SmallInteger, "int2"),
        (BigInteger, "int8"),
        (Integer, "int4"),
        (Date, "date"),
        (LargeBinary, "bytea"),
        (String, "text"),
    )
    if isinstance(t, DateTime):
        return "timestamptz" if t.timezone else "timestamp"
    for kind, name in kinds:
        if isinstance(t, kind):
            return name
    raise TypeError(f"no array type for {column} ({t!r})")


def _json_type(column: Column[Any]) -> str:
    """A JSON column's own type: JSON text cast to jsonb for a json column is converted twice."""
    return "jsonb" if isinstance(column.type, JSONB) else "json"


@cache
def unnest_insert(table: Table, columns: tuple[str, ...], tail: str = "") -> TextClause:
    """`INSERT INTO table (columns) SELECT ... FROM unnest(one array per column) <tail>`,
    where `tail` is e.g. an ON CONFLICT and a RETURNING clause. One statement per shape."""
    arrays, values = [], []
    for i, name in enumerate(columns):
        column = table.c[name]
        arrays.append(f"CAST(:{name} AS {_array_type(column)}[])")
        values.append(
            f"CAST(c{i} AS {_json_type(column)})" if isinstance(column.type, JSON) else f"c{i}"
        )
    aliases = ", ".join(f"c{i}" for i in range(len(columns)))
    return text(
        f"INSERT INTO {table.fullname} ({', '.join(columns)}) SELECT {', '.join(values)} "
        f"FROM unnest({', '.join(arrays)}) AS u({aliases}) {tail}".rstrip()
    )


def _json(value: object) -> object:
    """A JSON column's value as JSON text: a str is taken as JSON already, None stays NULL."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _missing(column: Column[Any]) -> object:
    """The value of a column a row leaves out: its Python-side default, else NULL."""
    default = column.default
    if isinstance(default, ColumnDefault):
        return default.arg(None) if default.is_callable else default.arg
    if column.server_default is not None:
        raise ValueError(f"{column} has a server default: give it in every row or in none")
    return None


def column_arrays(
    table: Table, rows: Sequence[Mapping[str, object]]
) -> tuple[tuple[str, ...], dict[str, list[object]]]:
    """The columns the rows give or that have a Python-side default (in the table's order),
    and one array of values per column; a row that leaves a column out gets its default."""
    given = set().union(*(row.keys() for row in rows))
    columns = tuple(
        c.name for c in table.columns if c.name in given or isinstance(c.default, ColumnDefault)
    )
    arrays: dict[str, list[object]] = {}
    for name in columns:
        column = table.c[name]
        values = [row[name] if name in row else _missing(column) for row in rows]
        arrays[name] = [_json(v) for v in values] if isinstance(column.type, JSON) else values
    return columns, arrays


def table_of(target: Table | type[DeclarativeBase]) -> Table:
    return target if isinstance(target, Table) else cast(Table, target.__table__)


async def insert_rows(
    session: AsyncSession,
    target: Table | type[DeclarativeBase],
    rows: Sequence[Mapping[str, object]],
    tail: str = "",
) -> Any:
    """Insert `rows` (dicts by column name) into a table (or a model's) in one constant
    statement; returns its result (for a RETURNING `tail`)."""
    table = table_of(target)
    columns, arrays = column_arrays(table, rows)
    return await session.execute(unnest_insert(table, columns, tail), arrays)
