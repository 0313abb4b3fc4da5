"""Contract of `anbefal.scores.v1`: the event survives the wire, its key names the segment, and
the same segment state always gets the same id (so the outbox stores a re-run's event once)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pydantic
import pytest

from anbefal.common import topics
from anbefal.common.events import ScoresChanged, decode, scores_event_id

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

SHOWN = ScoresChanged(
    event_id=scores_event_id("acme", "nps", "department", "Support", 42),
    tenant="acme",
    kind="nps",
    dimension="department",
    value="Support",
    window="30d",
    first_day=date(2026, 11, 1),
    last_day=date(2026, 11, 30),
    sequence=42,
    n=42,
    promoters=20,
    passives=12,
    detractors=10,
    nps=23.81,
    interval_low=-1.2,
    interval_high=46.3,
    computed_at=NOW,
)
HIDDEN = ScoresChanged(
    event_id=scores_event_id("acme", "enps", "team", "blue", 7),
    tenant="acme",
    kind="enps",
    dimension="team",
    value="blue",
    window="30d",
    first_day=date(2026, 11, 1),
    last_day=date(2026, 11, 30),
    sequence=7,
    suppressed=True,
    computed_at=NOW,
)


@pytest.mark.parametrize("event", [SHOWN, HIDDEN], ids=["shown", "suppressed"])
def test_round_trip(event: ScoresChanged) -> None:
    assert decode(ScoresChanged, event.to_bytes()) == event


def test_key_names_the_segment_and_the_topic_exists() -> None:
    assert SHOWN.key == b"acme:nps:department:Support"
    assert topics.SCORES in {t.name for t in topics.ALL_TOPICS}


def test_a_suppressed_event_carries_no_figures() -> None:
    wire = HIDDEN.model_dump(mode="json")
    assert wire["suppressed"] is True
    assert all(wire[f] is None for f in ("n", "promoters", "passives", "detractors", "nps"))


def test_ids_are_stable_per_segment_state() -> None:
    assert scores_event_id("acme", "nps", "d", "v", 1) == scores_event_id(
        "acme", "nps", "d", "v", 1
    )
    assert scores_event_id("acme", "nps", "d", "v", 1) != scores_event_id(
        "acme", "nps", "d", "v", 2
    )
    assert scores_event_id("acme", "nps", "d", "v", 1) != scores_event_id(
        "acme", "enps", "d", "v", 1
    )


def test_consumers_ignore_fields_added_later() -> None:
    raw = SHOWN.to_bytes()[:-1] + b',"added_in_a_later_release":1}'
    assert decode(ScoresChanged, raw) == SHOWN


def test_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        SHOWN.n = 1  # type: ignore[misc]
