"""The hop histogram's stages: which clock readings a hop's seconds come from."""

from __future__ import annotations

from prometheus_client import REGISTRY, Histogram

from anbefal.common import hops


def value(stage: str, suffix: str) -> float:
    return REGISTRY.get_sample_value(f"anbefal_hop_seconds{suffix}", {"stage": stage}) or 0.0


def test_record_timestamps_are_milliseconds_and_records_without_one_are_left_out() -> None:
    assert hops.record_times([1_700_000_000_250, -1, 1_700_000_001_000]) == [
        1_700_000_000.25,
        1_700_000_001.0,
    ]


def test_a_hop_is_now_minus_its_start_and_a_clock_behind_counts_zero() -> None:
    assert hops.elapsed([100.0, 99.5, 100.75], now=100.5) == [0.5, 1.0, 0.0]


def test_stages_name_the_topic_and_who_applied_or_published_it() -> None:
    assert hops.consumed("anbefal.responses.v1", "anbefal-closed-loop") == (
        "anbefal.responses.v1 -> anbefal-closed-loop"
    )
    assert hops.published("closed_loop.outbox", "anbefal.actions.v1") == (
        "outbox closed_loop.outbox -> anbefal.actions.v1"
    )


def test_observe_counts_each_start_in_its_stage() -> None:
    stage = hops.consumed("test.hops", "unit")
    before_count, before_sum = value(stage, "_count"), value(stage, "_sum")
    hops.observe(stage, hops.record_times([10_000, 10_500]), now=11.0)
    assert value(stage, "_count") - before_count == 2
    assert value(stage, "_sum") - before_sum == 1.5


def part(stage: str, name: str) -> float:
    labels = {"stage": stage, "part": name}
    return REGISTRY.get_sample_value("anbefal_hop_part_seconds_sum", labels) or 0.0


def test_a_consumer_hop_is_split_into_waiting_for_the_loop_the_fetch_the_work_and_the_commit() -> (
    None
):
    stage = hops.consumed("test.parts", "unit")
    parts = (hops.LOOP_BUSY, hops.FETCH, hops.TRANSACTION, hops.COMMIT)
    before = [part(stage, p) for p in parts]
    # One record there before the loop asked (it waited 2 s for the loop), one after.
    times = hops.BatchTimes(asked=10.0, fetched=11.0, applied=11.125, committed=11.25)
    hops.observe_consumed(stage, [8.0, 10.5], times)
    after = [part(stage, p) for p in parts]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2.0, 1.0 + 0.5, 0.25, 0.25]
    assert value(stage, "_sum") == 3.25 + 0.75


def test_a_relay_hop_is_split_into_waiting_the_produce_and_the_commit() -> None:
    stage = hops.published("test.outbox", "test.parts")
    hops.observe_relayed(stage, [1.0], taken=1.5, acked=1.75, committed=2.0)
    assert [part(stage, p) for p in (hops.UNTIL_RELAYED, hops.PRODUCE, hops.COMMIT)] == [
        0.5,
        0.25,
        0.25,
    ]
    assert value(stage, "_sum") == 1.0


def test_equal_values_observed_at_once_are_what_observing_each_records() -> None:
    each = Histogram("each", "", buckets=hops._BUCKETS, registry=None)
    at_once = Histogram("at_once", "", buckets=hops._BUCKETS, registry=None)
    seconds = [0.005, 0.005, 0.0051, 0.3, 0.3, 0.3, -1.0, 2.5, 100.0, 100.0, 0.0]
    for s in seconds:
        each.observe(max(0.0, s))
    hops.observe_all(at_once, seconds)

    def samples(h: Histogram, name: str) -> list[tuple[str, dict[str, str], float]]:
        return [
            (s.name.replace(name, ""), s.labels, s.value)
            for m in h.collect()
            for s in m.samples
            if not s.name.endswith("_created")
        ]

    assert samples(at_once, "at_once") == samples(each, "each")
