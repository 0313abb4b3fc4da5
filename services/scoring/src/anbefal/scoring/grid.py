"""The eNPS publication grid, pure (docs/architecture.md §7).

Every eNPS figure that leaves scoring is a cell of one fixed grid: a calendar month or quarter
in the tenant's time zone. A cell's figures are sums of *blocks*: the published counts of one
group of people (the answers with the same value in every dimension) in one month. A block is
republished only when at least k answers changed it since it was last published
(`publishable`), so whatever figures a reader combines (segments, dimensions, months against
their quarter, a cell against the one before it, one publication of the open month against the
next), the finest thing they can compute is a block's change of at least k answers.

On top of that, each cell runs the segment suppression of `anonymity.py` (small segments,
"all minus the shown ones", differences across dimensions), and a quarter hides a segment whose
hidden months would otherwise be "the quarter minus the shown months". That matters where the
blocks alone do not protect: a tenant raised k, or later versions of answers took people out of
a block.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from anbefal.common.auth import Scope
from anbefal.scoring.anonymity import effective_k, hidden_everywhere
from anbefal.scoring.models import ALL_DIMENSION, ALL_VALUE
from anbefal.scoring.nps import Figures

CellKind = Literal["month", "quarter"]
# Why a reader does not see a segment's figure: it describes fewer than k people (`too_few`);
# showing it would let a reader compute one that does, by subtraction (`protects_other_segment`);
# or its people answered but no block of theirs has had the k changes it takes to be published
# (`awaiting_changes`). A segment nobody answered is not listed at all.
Reason = Literal["too_few", "protects_other_segment", "awaiting_changes"]
TOO_FEW: Reason = "too_few"
PROTECTS: Reason = "protects_other_segment"
AWAITING: Reason = "awaiting_changes"
# The one group key of a block: its (dimension, value) pairs, sorted.
Group = tuple[tuple[str, str], ...]

_CELL = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")
GRID_HELP = (
    "eNPS figures exist only as whole cells of the grid, calendar months and quarters in the "
    "tenant's time zone, so that no two of them differ by a few people: ask for "
    "`window=month` or `window=quarter` (the current cell), `period=YYYY-MM` or "
    "`period=YYYY-Qn` (any cell), and a timeseries with `interval=month` or `interval=quarter`"
)


@dataclass(frozen=True, order=True)
class Cell:
    """A month (`number` 1-12) or a quarter (1-4) of one year."""

    kind: CellKind
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Cell:
        """`2026-11` (a month) or `2026-Q4` (a quarter)."""
        match = _CELL.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a grid cell (YYYY-MM or YYYY-Qn)")
        year, month, quarter = match.groups()
        if month is not None:
            return cls("month", int(year), int(month))
        return cls("quarter", int(year), int(quarter))

    @classmethod
    def containing(cls, kind: CellKind, day: date) -> Cell:
        number = day.month if kind == "month" else (day.month - 1) // 3 + 1
        return cls(kind, day.year, number)

    @property
    def name(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        return f"{self.year}-Q{self.number}"

    @property
    def first_month(self) -> int:
        return self.number if self.kind == "month" else 3 * (self.number - 1) + 1

    @property
    def first_day(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def months(self) -> list[date]:
        """The first day of each month of the cell."""
        count = 1 if self.kind == "month" else 3
        return [date(self.year, self.first_month + i, 1) for i in range(count)]

    def next(self) -> Cell:
        last = 12 if self.kind == "month" else 4
        if self.number == last:
            return Cell(self.kind, self.year + 1, 1)
        return Cell(self.kind, self.year, self.number + 1)

    def previous(self) -> Cell:
        if self.number == 1:
            return Cell(self.kind, self.year - 1, 12 if self.kind == "month" else 4)
        return Cell(self.kind, self.year, self.number - 1)


def cells_between(kind: CellKind, first: date, last: date) -> list[Cell]:
    """Every cell of `kind` that holds a day of [first, last], oldest first."""
    cell, end = Cell.containing(kind, first), Cell.containing(kind, last)
    cells = [cell]
    while cell < end:
        cell = cell.next()
        cells.append(cell)
    return cells


def group_of(segments: Mapping[str, str]) -> Group:
    """An answer's group: its segments, without one named like the tenant total's dimension."""
    return tuple(sorted((d, v) for d, v in segments.items() if d != ALL_DIMENSION))


@dataclass(frozen=True)
class Block:
    """The published figures of one group in one month."""

    month: date
    group: Group
    figures: Figures
    as_of: datetime | None = None


def publishable(live: Figures, shown: Figures, changes: int, k: int) -> bool:
    """Whether a block's live figures may replace its published ones: at least k answers
    changed it since, and its n moved by none or at least k (so the old and the new figure are
    never two sets of people, one inside the other, a few apart)."""
    k = effective_k(k)
    moved = abs(live.n - shown.n)
    return changes >= k and (moved == 0 or moved >= k)


@dataclass(frozen=True)
class CellView:
    """What a reader may see of one cell: every dimension's figures (the total under
    `all`/`all`) and, for each hidden one, why."""

    cell: Cell
    figures: dict[str, dict[str, Figures]]
    hidden: dict[str, dict[str, Reason]] = field(default_factory=dict)
    as_of: datetime | None = None

    def reason(self, dimension: str, value: str) -> Reason | None:
        return self.hidden.get(dimension, {}).get(value)

    def values(self, dimension: str) -> list[str]:
        """Every segment of the dimension a reader is told of: shown, or hidden with a reason."""
        return list(
            dict.fromkeys([*self.figures.get(dimension, {}), *self.hidden.get(dimension, {})])
        )

    def shown(self, dimension: str, value: str) -> Figures | None:
        """The segment's figures, or None when the reader may not see them (or it has none)."""
        figures = self.figures.get(dimension, {}).get(value)
        if figures is None or self.reason(dimension, value) is not None:
            return None
        return figures


def view(blocks: Iterable[Block], cell: Cell, k: int) -> CellView:
    """The cell as every reader sees it: its blocks summed per segment, with the suppression
    decided across the dimensions and, for a quarter, against its months."""
    k = effective_k(k)
    months = set(cell.months())
    own = [b for b in blocks if b.month in months]
    if cell.kind == "month":
        return _view(cell, own, k)
    months_seen = [
        _view(Cell.containing("month", m), [b for b in own if b.month == m], k)
        for m in sorted(months)
    ]
    quarter = _view(cell, own, k)
    for dimension, values in quarter.figures.items():
        for value in values:
            # "The quarter minus its shown months" is the segment's hidden months. A figure the
            # quarter hides may still be derived ("all minus the shown segments"), so every
            # segment is checked, and a quarter that would give a hidden month away shows its
            # total alone (or, when even that would, nothing).
            rest = sum(
                m.figures.get(dimension, {}).get(value, Figures()).n
                for m in months_seen
                if m.reason(dimension, value) is not None
            )
            if 0 < rest < k:
                return _hide_breakdowns(quarter, everything=dimension == ALL_DIMENSION)
    return quarter


def _hide_breakdowns(view: CellView, *, everything: bool, reason: Reason = PROTECTS) -> CellView:
    hidden = {dimension: dict(reasons) for dimension, reasons in view.hidden.items()}
    for dimension, values in view.figures.items():
        if dimension != ALL_DIMENSION or everything:
            for value in values:
                hidden.setdefault(dimension, {}).setdefault(value, reason)
    return CellView(view.cell, view.figures, hidden, view.as_of)


def in_scope(block: Block, scope: Scope) -> bool:
    return all(pair in block.group for pair in scope)


def scoped_view(blocks: Iterable[Block], cell: Cell, k: int, scope: Scope) -> CellView:
    """The cell as a reader with `scope` (a team lead) sees it: the segments of the blocks
    inside the scope, each shown only where it is a figure every reader sees, the same in the
    tenant-wide view (the segment lies wholly inside the scope, and that view shows it). The
    scope's total is shown where it equals a shown segment of the scope (`team=Alpha`: team
    Alpha's figure). Anything else is an intersection (Alpha's people in one country) that,
    set beside the tenant-wide figures (that country), could single out fewer than k people:
    hidden as `protects_other_segment`, or with the reason the tenant-wide view gives. So a
    team lead learns nothing any reader could not."""
    blocks = list(blocks)
    everyone = view(blocks, cell, k)
    if not scope:
        return everyone
    mine = view([b for b in blocks if in_scope(b, scope)], cell, k)
    hidden: dict[str, dict[str, Reason]] = {}
    for dimension, values in mine.figures.items():
        for value, figures in values.items():
            same = [(dimension, value)]
            if dimension == ALL_DIMENSION:
                same = list(scope)
            reason = _shown_alike(everyone, same, figures)
            if reason is not None:
                hidden.setdefault(dimension, {})[value] = reason
    return CellView(cell, mine.figures, hidden, mine.as_of)


def _shown_alike(
    everyone: CellView, segments: list[tuple[str, str]], figures: Figures
) -> Reason | None:
    """None when one of `segments` is shown tenant-wide with exactly `figures` (the scoped
    blocks are a subset of its blocks, so equal counts are the same people); else why not."""
    reasons: list[Reason] = []
    for dimension, value in segments:
        if everyone.shown(dimension, value) == figures:
            return None
        reason = everyone.reason(dimension, value)
        if reason is not None:
            reasons.append(reason)
    return reasons[0] if reasons else PROTECTS


def with_awaiting(view: CellView, pending: Iterable[Block]) -> CellView:
    """`view` telling also of the segments whose people answered in the cell but none of whose
    blocks is published yet (`awaiting_changes`): no count, only that someone answered."""
    months = set(view.cell.months())
    hidden = {dimension: dict(reasons) for dimension, reasons in view.hidden.items()}
    for block in pending:
        if block.month not in months:
            continue
        for dimension, value in ((ALL_DIMENSION, ALL_VALUE), *block.group):
            if value not in view.figures.get(dimension, {}):
                hidden.setdefault(dimension, {}).setdefault(value, AWAITING)
    return CellView(view.cell, view.figures, hidden, view.as_of)


def _view(cell: Cell, blocks: list[Block], k: int) -> CellView:
    figures: dict[str, dict[str, Figures]] = defaultdict(dict)
    overlaps: dict[str, dict[tuple[str, str, str], int]] = defaultdict(lambda: defaultdict(int))
    total = Figures()
    for block in blocks:
        total += block.figures
        for dimension, value in block.group:
            segment = figures[dimension]
            segment[value] = segment.get(value, Figures()) + block.figures
            for other, other_value in block.group:
                if other != dimension:
                    overlaps[dimension][(value, other, other_value)] += block.figures.n
    people = {(d, v): f.n for d, values in figures.items() for v, f in values.items()}
    hidden_sets = hidden_everywhere(figures, total.n, people, overlaps, k)
    hidden: dict[str, dict[str, Reason]] = {}
    for dimension, values in figures.items():
        for value, f in values.items():
            if f.n < k:
                hidden.setdefault(dimension, {})[value] = TOO_FEW
            elif value in hidden_sets.get(dimension, set()):
                hidden.setdefault(dimension, {})[value] = PROTECTS
    if blocks and total.n < k:  # a cell nobody answered in has no total to hide
        hidden[ALL_DIMENSION] = {ALL_VALUE: TOO_FEW}
    as_of = max((b.as_of for b in blocks if b.as_of is not None), default=None)
    shown = {ALL_DIMENSION: {ALL_VALUE: total}} if blocks else {}
    return CellView(cell, {**dict(figures), **shown}, hidden, as_of)


@dataclass(frozen=True)
class Row:
    """One segment of a breakdown: its figures (None when hidden, with the reason), and the
    previous cell's figures of the same segment, shown only where that cell shows them."""

    value: str
    figures: Figures | None
    reason: Reason | None
    previous: Figures | None
    previous_reason: Reason | None


def rows(current: CellView, previous: CellView, dimension: str) -> list[Row]:
    out = []
    for value in current.values(dimension):
        figures = current.shown(dimension, value)
        out.append(
            Row(
                value=value,
                figures=figures,
                reason=current.reason(dimension, value),
                # Beside a hidden figure no comparison is shown at all.
                previous=None if figures is None else previous.shown(dimension, value),
                previous_reason=None if figures is None else previous.reason(dimension, value),
            )
        )
    return out
