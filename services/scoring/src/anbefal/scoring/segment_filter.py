"""Filtering answers by several segment values at once, and by a reader's scope (pure).

A filter is a set of `dimension:value` items: values of one dimension are alternatives (any
of them), dimensions all apply (`department:Support` and `country:SE`). A team lead's scope
(`Principal.scope`) is a filter every read of theirs carries: `within` adds it, and refuses a
filter that asks for a value outside it (`OutOfScope`, answered 403), so a scoped reader never
reads past the scope by asking for it, nor gets an empty answer that looks like "no data".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from anbefal.common.auth import Scope
from anbefal.scoring.models import ALL_DIMENSION

FILTER_HELP = (
    "`dimension:value`, repeatable: `filter=department:Support&filter=country:SE` keeps the "
    "answers of Support in Sweden; values of one dimension are alternatives "
    "(`filter=country:SE&filter=country:DK`: either country)"
)


class OutOfScope(Exception):
    """A scoped reader asked for segment values outside their scope."""


Pairs = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class SegmentFilter:
    """Per dimension, the values an answer may have there (sorted, so equal filters compare
    equal); empty: every answer."""

    pairs: Pairs = ()

    @classmethod
    def parse(cls, items: Iterable[str]) -> SegmentFilter:
        """`["department:Support", "country:SE"]`; the value is everything after the first
        colon. Raises ValueError naming the item that is not `dimension:value`."""
        values: dict[str, set[str]] = {}
        for item in items:
            dimension, sep, value = item.partition(":")
            dimension = dimension.strip()
            if not sep or not dimension or not value or dimension == ALL_DIMENSION:
                raise ValueError(
                    f"filter {item!r} is not dimension:value (a segment such as department:Support)"
                )
            values.setdefault(dimension, set()).add(value)
        return cls._of(values)

    @classmethod
    def _of(cls, values: Mapping[str, Iterable[str]]) -> SegmentFilter:
        return cls(tuple(sorted((d, tuple(sorted(v))) for d, v in values.items())))

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def values(self, dimension: str) -> tuple[str, ...] | None:
        """The values the filter allows in `dimension` (None: any)."""
        return dict(self.pairs).get(dimension)

    def within(self, scope: Scope) -> SegmentFilter:
        """This filter inside a reader's scope: each of the scope's dimensions is narrowed to
        its value; a filter that allows none of the scope's values there is refused."""
        values = {d: set(v) for d, v in self.pairs}
        for dimension, value in scope:
            asked = values.get(dimension)
            if asked is not None and value not in asked:
                outside = ", ".join(f"{dimension}={v}" for v in sorted(asked))
                raise OutOfScope(
                    f"{outside} is outside your scope ({_scope_text(scope)}): you may read "
                    "only answers inside it"
                )
            values[dimension] = {value}
        return self._of(values)

    def matches(self, segments: Mapping[str, str]) -> bool:
        """Whether an answer with these segments passes the filter."""
        return all(segments.get(d) in allowed for d, allowed in self.pairs)

    def where(
        self, segments: ColumnElement[Any] | InstrumentedAttribute[Any]
    ) -> list[ColumnElement[bool]]:
        """SQL conditions over a JSONB column of segments: a containment test for a single
        value (`segments @> '{"team": "Alpha"}'`, which a GIN index serves), else a key test."""
        conditions: list[ColumnElement[bool]] = []
        for dimension, allowed in self.pairs:
            if len(allowed) == 1:
                conditions.append(segments.contains({dimension: allowed[0]}))
            else:
                conditions.append(segments[dimension].astext.in_(allowed))
        return conditions


def _scope_text(scope: Scope) -> str:
    return ", ".join(f"{d}={v}" for d, v in scope)
