"""No two eNPS figures a reader can obtain differ by fewer than k people.

The reader of docs/architecture.md §7: every role's token, the scores API (every cell, every
dimension, the previous period beside each figure), its CSV export and timeseries (the same
cells) and the `anbefal.scores.v1` events (the open month's cell at each publication), all
remembered over time. For generated organisations (departments, teams inside them, a country
across them, people without a team) and answer streams over five months (late answers to
closed months, later versions with a new score, which keep their month and group as scoring
keeps them, a tenant raising k midway), the test replays the stream through the production rules
(`grid.publishable`, `grid.view`, `grid.rows`) and collects, after every publication, the
set of answers behind every figure the reader could see, including "the total minus the shown
segments" of each breakdown. No two of those sets may be nested and a few (1..k-1) apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from anbefal.common.auth import Scope
from anbefal.common.nps import category
from anbefal.scoring.grid import (
    Block,
    Cell,
    Group,
    group_of,
    publishable,
    rows,
    scoped_view,
    view,
)
from anbefal.scoring.models import ALL_DIMENSION, ALL_VALUE
from anbefal.scoring.nps import Figures

START = date(2026, 2, 1)
DAYS = 150  # February to June: two quarters, five months
CELLS = [Cell.containing("month", START + timedelta(days=d)) for d in range(0, DAYS, 28)]
CELLS = sorted(set(CELLS)) + [Cell("quarter", 2026, 1), Cell("quarter", 2026, 2)]
DIMENSIONS = ("department", "team", "country")


@dataclass(frozen=True)
class Organisation:
    k: int
    people: list[dict[str, str]]  # each person's segments
    # (person or answer to edit, day, score, edit?)
    steps: list[tuple[int, int, int, bool]]
    raise_k_at: int | None  # the step before which the tenant raises k by two


@st.composite
def organisations(draw: st.DrawFn) -> Organisation:
    k = draw(st.integers(3, 6))
    departments = draw(st.integers(1, 3))
    teams = draw(st.lists(st.integers(0, departments - 1), min_size=1, max_size=5))
    with_country = draw(st.booleans())
    people = []
    for _ in range(draw(st.integers(1, 30))):
        team = draw(st.integers(-1, len(teams) - 1))  # -1: no team
        segments = {"department": f"d{teams[team] if team >= 0 else 0}"}
        if team >= 0:
            segments["team"] = f"t{team}"
        if with_country:
            segments["country"] = draw(st.sampled_from(("dk", "se")))
        people.append(segments)
    steps = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(people) - 1),
                st.integers(0, DAYS - 1),
                st.integers(0, 10),
                st.integers(0, 9).map(lambda x: x == 0),  # one step in ten edits a score
            ),
            max_size=150,
        )
    )
    raise_k_at = draw(st.none() | st.integers(0, max(len(steps) - 1, 0)))
    return Organisation(k, people, steps, raise_k_at)


def figures(scores: dict[int, int]) -> Figures:
    counts = Counter(category(s) for s in scores.values())
    return Figures(counts["promoter"], counts["passive"], counts["detractor"])


Atom = tuple[date, Group]


@dataclass
class Scoring:
    """What scoring keeps: each block's live and published answers, and its change counts."""

    k: int
    live: dict[Atom, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    shown: dict[Atom, dict[int, int]] = field(default_factory=dict)
    changes: Counter[Atom] = field(default_factory=Counter)
    shown_changes: Counter[Atom] = field(default_factory=Counter)
    answers: dict[int, Atom] = field(default_factory=dict)

    def apply(self, answer: int, atom: Atom, score: int) -> bool:
        """One new answer or a new score of one; True when a block was published."""
        self.answers[answer] = atom
        self.live[atom][answer] = score
        self.changes[atom] += 1
        shown = self.shown.get(atom, {})
        since = self.changes[atom] - self.shown_changes[atom]
        if not publishable(figures(self.live[atom]), figures(shown), since, self.k):
            return False
        self.shown[atom] = dict(self.live[atom])
        self.shown_changes[atom] = self.changes[atom]
        return True

    def blocks(self) -> list[Block]:
        return [Block(m, g, figures(a)) for (m, g), a in self.shown.items() if a]

    def members(self, cell: Cell, dimension: str, value: str) -> frozenset[int]:
        months = set(cell.months())
        return frozenset(
            answer
            for (month, group), answers in self.shown.items()
            if month in months and (dimension == ALL_DIMENSION or (dimension, value) in group)
            for answer in answers
        )

    def members_of(self, cell: Cell, scope: Scope) -> frozenset[int]:
        """The published answers of the cell inside a reader's scope."""
        months = set(cell.months())
        return frozenset(
            answer
            for (month, group), answers in self.shown.items()
            if month in months and all(pair in group for pair in scope)
            for answer in answers
        )


def obtainable(scoring: Scoring) -> set[frozenset[int]]:
    """The answers behind every figure a reader can see right now (and derive by subtraction
    within one breakdown)."""
    blocks = scoring.blocks()
    seen: set[frozenset[int]] = set()
    for cell in CELLS:
        current, previous = view(blocks, cell, scoring.k), view(blocks, cell.previous(), scoring.k)
        total = current.shown(ALL_DIMENSION, ALL_VALUE)
        everyone = scoring.members(cell, ALL_DIMENSION, ALL_VALUE)
        if total is not None:
            assert total.n == len(everyone)
            seen.add(everyone)
        for dimension in DIMENSIONS:
            shown: set[int] = set()
            for row in rows(current, previous, dimension):
                if row.figures is not None:
                    members = scoring.members(cell, dimension, row.value)
                    assert row.figures.n == len(members)
                    seen.add(members)
                    shown |= members
                if row.previous is not None:
                    before = scoring.members(cell.previous(), dimension, row.value)
                    assert row.previous.n == len(before)
                    seen.add(before)
            if total is not None:
                seen.add(everyone - shown)  # "all minus the shown segments"
    return seen


def small_nested_differences(sets: set[frozenset[int]], k: int) -> list[tuple[int, int]]:
    by_size: dict[int, list[frozenset[int]]] = defaultdict(list)
    for s in sets | {frozenset()}:
        by_size[len(s)].append(s)
    found: list[tuple[int, int]] = []
    for size, smaller in by_size.items():
        for apart in range(1, k):
            for larger in by_size.get(size + apart, []):
                found += [(size, size + apart) for s in smaller if s <= larger]
    return found


@settings(max_examples=250, deadline=None)
@given(organisations())
def test_no_two_obtainable_figures_isolate_fewer_than_k(org: Organisation) -> None:
    scoring = Scoring(org.k)
    remembered = obtainable(scoring)
    for i, (who, day, score, edit) in enumerate(org.steps):
        if i == org.raise_k_at:
            # Blocks published under the old k stay; what is shown is now decided with the new
            # one, and nothing may be differenced below the old.
            scoring.k += 2
            remembered |= obtainable(scoring)
        if edit and scoring.answers:
            answer = sorted(scoring.answers)[who % len(scoring.answers)]
            atom = scoring.answers[answer]
        else:
            answer = i
            month = (START + timedelta(days=day)).replace(day=1)
            atom = (month, group_of(org.people[who]))
        if scoring.apply(answer, atom, score):
            remembered |= obtainable(scoring)
    assert small_nested_differences(remembered, org.k) == []


def scoped_figures(scoring: Scoring, scope: Scope) -> set[frozenset[int]]:
    """The answers behind every figure a reader with `scope` sees right now."""
    blocks = scoring.blocks()
    seen: set[frozenset[int]] = set()
    for cell in CELLS:
        current = scoped_view(blocks, cell, scoring.k, scope)
        for dimension in (ALL_DIMENSION, *DIMENSIONS):
            for value in current.values(dimension):
                shown = current.shown(dimension, value)
                if shown is None:
                    continue
                members = scoring.members(cell, dimension, value) & scoring.members_of(cell, scope)
                assert shown.n == len(members)
                seen.add(members)
    return seen


# Team t0 in two countries beside team t1 in one: t0's people in dk are a figure no
# tenant-wide reader sees ("dk minus t0's dk" would be t1).
TWO_TEAMS = Organisation(
    k=3,
    people=[{"department": "d0", "team": t, "country": c}
            for t, c in [("t0", "dk")] * 3 + [("t0", "se")] * 3 + [("t1", "dk")] * 3],
    steps=[(who, 0, 9, False) for who in range(9)],
    raise_k_at=None,
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(organisations())
@example(TWO_TEAMS)
def test_a_team_lead_sees_no_figure_that_every_reader_does_not(org: Organisation) -> None:
    """Whatever a scoped reader sees is a figure the tenant-wide reader sees too, so holding a
    scoped token beside the others isolates nobody."""
    scoring = Scoring(org.k)
    scopes = {pair for person in org.people for pair in person.items()}
    for i, (who, day, score, _) in enumerate(org.steps):
        month = (START + timedelta(days=day)).replace(day=1)
        if not scoring.apply(i, (month, group_of(org.people[who])), score):
            continue
        everyone = obtainable(scoring)
        for pair in sorted(scopes):
            assert scoped_figures(scoring, (pair,)) <= everyone, pair
