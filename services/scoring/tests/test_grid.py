from __future__ import annotations

from datetime import date

import pytest

from anbefal.common.auth import parse_scope
from anbefal.scoring.grid import (
    AWAITING,
    PROTECTS,
    TOO_FEW,
    Block,
    Cell,
    cells_between,
    group_of,
    publishable,
    rows,
    scoped_view,
    view,
    with_awaiting,
)
from anbefal.scoring.models import ALL_DIMENSION, ALL_VALUE
from anbefal.scoring.nps import Figures


def test_cells_parse_and_cover_whole_months() -> None:
    november, q4 = Cell.parse("2026-11"), Cell.parse("2026-Q4")
    assert (november.first_day, november.last_day) == (date(2026, 11, 1), date(2026, 11, 30))
    assert (q4.first_day, q4.last_day) == (date(2026, 10, 1), date(2026, 12, 31))
    assert q4.months() == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    assert Cell.parse("2026-01").previous().name == "2025-12"
    assert Cell.parse("2026-Q1").previous().name == "2025-Q4"
    assert Cell.containing("quarter", date(2026, 3, 31)).name == "2026-Q1"
    names = [c.name for c in cells_between("month", date(2026, 11, 20), date(2027, 1, 2))]
    assert names == ["2026-11", "2026-12", "2027-01"]


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "2026-1", "30d", "2026-11-01"])
def test_anything_else_is_not_a_cell(text: str) -> None:
    with pytest.raises(ValueError, match="grid cell"):
        Cell.parse(text)


def test_a_block_moves_only_by_k_changes_and_never_by_a_few_people() -> None:
    assert not publishable(Figures(4), Figures(), changes=4, k=5)
    assert publishable(Figures(5), Figures(), changes=5, k=5)
    assert not publishable(Figures(9), Figures(5), changes=4, k=5)
    # Four new answers and one new score: five changes, but four more people than before.
    assert not publishable(Figures(8, 1), Figures(5), changes=5, k=5)
    assert publishable(Figures(0, 5), Figures(5), changes=5, k=5)  # five new scores
    assert not publishable(Figures(2), Figures(), changes=2, k=1)  # k never below three


def block(month: int, n: int, **segments: str) -> Block:
    return Block(date(2026, month, 1), group_of(segments), Figures(promoters=n))


def test_a_quarter_hides_a_segment_whose_hidden_months_it_would_give_away() -> None:
    # Team a: 6 answers in October and November each, 3 in December (a tenant raised k).
    blocks = [block(10, 6, team="a"), block(11, 6, team="a"), block(12, 3, team="a")]
    blocks += [block(m, 9, team="b") for m in (10, 11, 12)]
    december = view(blocks, Cell.parse("2026-12"), 5)
    assert december.reason("team", "a") == TOO_FEW
    q4 = view(blocks, Cell.parse("2026-Q4"), 5)
    # "Q4 minus October minus November" would be December's 3.
    assert q4.reason("team", "a") == PROTECTS
    assert q4.shown("team", "b") is None  # and b goes too: "all minus b" is a
    assert q4.shown(ALL_DIMENSION, ALL_VALUE) == Figures(42)


def test_previous_is_shown_only_where_its_own_cell_shows_it() -> None:
    blocks = [block(11, 8, department="a"), block(11, 4, department="b")]
    blocks += [block(12, 10, department="a")]
    now, before = view(blocks, Cell.parse("2026-12"), 5), view(blocks, Cell.parse("2026-11"), 5)
    (row,) = rows(now, before, "department")
    assert (row.value, row.figures, row.previous) == ("a", Figures(10), None)
    assert row.previous_reason == PROTECTS
    assert before.reason("department", "b") == TOO_FEW
    assert before.as_of is None


def test_a_group_that_answered_but_awaits_k_changes_is_listed_without_a_count() -> None:
    cell = Cell.parse("2026-11")
    shown = view([block(11, 6, team="a", country="DK")], cell, 5)
    awaiting = [block(11, 0, team="b", country="DK"), block(10, 0, team="c")]
    seen = with_awaiting(shown, awaiting)
    assert seen.values("team") == ["a", "b"]  # c answered in October: not this cell
    assert (seen.reason("team", "b"), seen.shown("team", "b")) == (AWAITING, None)
    assert seen.reason("country", "DK") is None  # shown (a's people): nothing awaits there
    assert [(r.value, r.reason) for r in rows(seen, view([], cell.previous(), 5), "team")] == [
        ("a", None),
        ("b", AWAITING),
    ]
    # Before any block of the cell is published, the total itself awaits.
    assert with_awaiting(view([], cell, 5), awaiting).reason(ALL_DIMENSION, ALL_VALUE) == AWAITING


def test_a_scoped_view_shows_only_figures_every_reader_sees() -> None:
    cell = Cell.parse("2026-11")
    blocks = [
        block(11, 6, team="Alpha", country="DK", squad="A1"),
        block(11, 5, team="Alpha", country="SE", squad="A2"),
        block(11, 2, team="Alpha", country="NO", squad="A2"),
        block(11, 9, team="Beta", country="DK"),
    ]
    alpha = scoped_view(blocks, cell, 5, parse_scope("team=Alpha"))
    # The total is team Alpha's figure, and the squads lie wholly inside Alpha: as tenant-wide.
    assert alpha.shown(ALL_DIMENSION, ALL_VALUE) == Figures(promoters=13)
    assert alpha.values("team") == ["Alpha"]
    assert alpha.shown("squad", "A1") == Figures(promoters=6)
    assert alpha.shown("squad", "A2") == Figures(promoters=7)
    # Alpha's people in a country are an intersection: "DK minus Alpha's DK" would be Beta's
    # 9 here, but could be 1 elsewhere, so no intersection is shown; NO is too few anyway.
    assert alpha.reason("country", "DK") == PROTECTS
    assert alpha.reason("country", "NO") == TOO_FEW
    assert alpha.shown("country", "SE") is None
    assert scoped_view(blocks, cell, 5, ()) == view(blocks, cell, 5)

    # With a team of 3 beside them, the tenant-wide view hides Alpha (the smallest shown) so
    # that "all minus the shown teams" is not those 3; Alpha's lead then gets nothing either.
    blocks = [block(11, 6, team="Alpha"), block(11, 9, team="Beta"), block(11, 3, team="Gamma")]
    assert view(blocks, cell, 5).reason("team", "Alpha") == PROTECTS
    hidden = scoped_view(blocks, cell, 5, parse_scope("team=Alpha"))
    assert hidden.shown(ALL_DIMENSION, ALL_VALUE) is None
    assert hidden.reason(ALL_DIMENSION, ALL_VALUE) == PROTECTS
    assert hidden.reason("team", "Alpha") == PROTECTS


def test_a_cell_nobody_answered_in_lists_nothing() -> None:
    empty = view([], Cell.parse("2026-11"), 5)
    assert (empty.values(ALL_DIMENSION), empty.reason(ALL_DIMENSION, ALL_VALUE)) == ([], None)
