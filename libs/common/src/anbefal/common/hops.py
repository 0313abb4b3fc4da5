"""Where the time goes between an answer's 202 and its task: one histogram, a stage per hop.

Each hop is timed from a timestamp the data already carries to the moment its effect is
committed (docs/architecture.md §4, "The latency budget"):

- `<topic> -> <group>`: a record's Kafka timestamp (the producer's clock when it was sent) to
  the commit of the consumer transaction that applied it;
- `outbox <table> -> <topic>`: an outbox row's `created_at` (the writing transaction's start) to
  the relay's commit after the broker acknowledged it;
- `email queued -> sent`: an email row's `created_at` to the commit after the relay took it.

The clocks compared are the producer's, PostgreSQL's and the observing process's: the same on
one machine, and within NTP's few milliseconds between machines. A negative difference (a clock
behind another) counts as 0 rather than poisoning the histogram.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import Histogram

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
HOP_SECONDS = Histogram(
    "anbefal_hop_seconds",
    "Time of one hop between an answer's 202 and its task and mail, by stage",
    ["stage"],
    buckets=_BUCKETS,
)
HOP_PART_SECONDS = Histogram(
    "anbefal_hop_part_seconds",
    "Where a hop's time went: each part of a stage, waiting or working (see hops.py)",
    ["stage", "part"],
    buckets=_BUCKETS,
)

# The parts of a consumer hop, in order: the record was there before the loop asked for it
# (it waited for the batch before), the fetch (from when the record was there or the loop
# asked, whichever came later, to the fetch's return), the batch's decoding and statements
# (handlers, dead letters, offsets), and its commit.
LOOP_BUSY = "loop busy"
FETCH = "fetch"
TRANSACTION = "transaction"
COMMIT = "commit"
# The parts of a relay hop: the row waited (the writing transaction, then the relay's wake
# or its step before), the broker's acknowledgement, and the relay's commit.
UNTIL_RELAYED = "until relayed"
PRODUCE = "produce"

EMAIL_SENT = "email queued -> sent"


def consumed(topic: str, group: str) -> str:
    """The stage of records of `topic` applied by consumer group `group`."""
    return f"{topic} -> {group}"


def published(table: str, topic: str) -> str:
    """The stage of outbox rows of `table` published to `topic`."""
    return f"outbox {table} -> {topic}"


def elapsed(since: Iterable[float], now: float) -> list[float]:
    """Seconds from each of `since` (epoch seconds) to `now`; a clock behind counts 0."""
    return [max(0.0, now - at) for at in since]


def record_times(timestamps_ms: Iterable[int]) -> list[float]:
    """Kafka record timestamps (epoch milliseconds) as epoch seconds; records without one
    (a timestamp of -1, from clients older than the v2 record format) are left out."""
    return [ms / 1000 for ms in timestamps_ms if ms >= 0]


def observe_all(histogram: Histogram, seconds: Iterable[float]) -> None:
    """`histogram.observe` of each of `seconds` (a negative one counts 0), equal values at
    once: a batch's records or rows share most of theirs (every part after the fetch or the
    broker's acknowledgement, and the rows one transaction wrote), and an observation apiece
    cost each service several µs of CPU per answer in the burst (py-spy)."""
    for value, n in Counter(max(0.0, s) for s in seconds).items():
        _observe_times(histogram, value, n)


def _observe_times(histogram: Histogram, value: float, n: int) -> None:
    """`n` observations of `value` as `Histogram.observe` records each: the sum, and the
    first bucket whose bound is not below it (prometheus_client has no call for many;
    tests/test_hops.py checks it against `observe`). `histogram` is a labelled child."""
    histogram._sum.inc(value * n)
    histogram._buckets[bisect_left(histogram._upper_bounds, value)].inc(n)


def observe(stage: str, since: Iterable[float], now: float) -> None:
    observe_all(HOP_SECONDS.labels(stage), (now - at for at in since))


@dataclass
class BatchTimes:
    """When the consumer loop asked for a batch, the fetch returned it, its statements were
    done and its transaction committed (epoch seconds; the last two once they happened)."""

    asked: float
    fetched: float
    applied: float = 0.0
    committed: float = 0.0


def observe_consumed(stage: str, since: Iterable[float], times: BatchTimes) -> None:
    """A consumer hop and its parts, for records there at `since`."""
    since = list(since)
    observe(stage, since, times.committed)
    busy, fetch = HOP_PART_SECONDS.labels(stage, LOOP_BUSY), HOP_PART_SECONDS.labels(stage, FETCH)
    observe_all(busy, (times.asked - at for at in since))
    observe_all(fetch, (times.fetched - max(at, times.asked) for at in since))
    applied = max(times.applied, times.fetched)
    for part, seconds in (
        (TRANSACTION, applied - times.fetched),
        (COMMIT, times.committed - applied),
    ):
        observe_all(HOP_PART_SECONDS.labels(stage, part), [seconds] * len(since))


def observe_relayed(
    stage: str, since: Iterable[float], *, taken: float, acked: float, committed: float
) -> None:
    """A relay hop and its parts: rows written at `since`, taken by the relay's step at
    `taken`, acknowledged by the broker at `acked`, marked published at `committed`."""
    since = list(since)
    observe(stage, since, committed)
    observe_all(HOP_PART_SECONDS.labels(stage, UNTIL_RELAYED), (taken - at for at in since))
    for part, seconds in ((PRODUCE, acked - taken), (COMMIT, committed - acked)):
        observe_all(HOP_PART_SECONDS.labels(stage, part), [seconds] * len(since))
