"""An answer whose own segment is named like the tenant total's dimension (events older than
ingest's refusal of it) counts in the total once."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from anbefal.scoring.models import ALL_DIMENSION, ALL_VALUE
from anbefal.scoring.repository import _add


def test_an_old_events_all_segment_does_not_count_twice() -> None:
    deltas: defaultdict[tuple[str, str, str, str, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    segments: set[tuple[str, str, str, str]] = set()
    blocks: defaultdict[tuple[str, date, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    day = date(2026, 12, 1)
    _add(deltas, segments, blocks, "acme", "nps", 2, day, {"all": "all", "team": "a"}, 1)
    assert sum(deltas[("acme", "nps", ALL_DIMENSION, ALL_VALUE, day)]) == 1
    assert sum(deltas[("acme", "nps", "team", "a", day)]) == 1
    assert {s[2] for s in segments} == {ALL_DIMENSION, "team"}
    assert not blocks  # NPS answers have no eNPS block
    _add(deltas, segments, blocks, "acme", "enps", 2, day, {"all": "all", "team": "a"}, 1)
    assert blocks == {("acme", day, '{"team":"a"}'): [0, 0, 1, 1]}
