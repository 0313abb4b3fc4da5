from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from anbefal.common.auth import parse_scope
from anbefal.scoring.models import Answer
from anbefal.scoring.segment_filter import OutOfScope, SegmentFilter

DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def test_values_of_one_dimension_are_alternatives_and_dimensions_all_apply() -> None:
    f = SegmentFilter.parse(["department:Support", "country:SE", "country:DK"])
    assert f.pairs == (("country", ("DK", "SE")), ("department", ("Support",)))
    assert f.matches({"department": "Support", "country": "DK", "team": "x"})
    assert not f.matches({"department": "Support", "country": "NO"})
    assert not f.matches({"country": "SE"})
    assert SegmentFilter.parse([]).matches({})


def test_a_value_may_hold_a_colon_and_the_dimension_may_not_be_empty() -> None:
    assert SegmentFilter.parse(["store:Aarhus: C"]).pairs == (("store", ("Aarhus: C",)),)
    for bad in ("department", ":x", "department:", "all:all"):
        with pytest.raises(ValueError, match="dimension:value"):
            SegmentFilter.parse([bad])


def test_a_scope_narrows_the_filter_and_a_value_outside_it_is_refused() -> None:
    scope = parse_scope("team=Alpha")
    f = SegmentFilter.parse(["country:SE"]).within(scope)
    assert f.pairs == (("country", ("SE",)), ("team", ("Alpha",)))
    assert SegmentFilter.parse(["team:Alpha"]).within(scope).pairs == (("team", ("Alpha",)),)
    # Asking for the scope's value among others narrows to it: still inside the scope.
    assert SegmentFilter.parse(["team:Alpha", "team:Beta"]).within(scope).pairs == (
        ("team", ("Alpha",)),
    )
    with pytest.raises(OutOfScope, match="team=Beta"):
        SegmentFilter.parse(["team:Beta"]).within(scope)
    assert SegmentFilter.parse([]).within(()).pairs == ()


def test_the_sql_condition_is_one_containment_or_key_test_per_dimension() -> None:
    segments = Answer.segments
    f = SegmentFilter.parse(["department:Support", "country:SE", "country:DK"])
    compiled = select(Answer.event_id).where(*f.where(segments)).compile(dialect=DIALECT)
    sql = str(compiled)
    assert "(scoring.answers.segments ->> %(segments_1)s::TEXT) IN (__[POSTCOMPILE_param_1])" in sql
    assert "scoring.answers.segments @> %(segments_2)s::JSONB" in sql
    assert compiled.params["segments_1"] == "country"
    assert list(compiled.params["param_1"]) == ["DK", "SE"]
    assert compiled.params["segments_2"] == {"department": "Support"}
