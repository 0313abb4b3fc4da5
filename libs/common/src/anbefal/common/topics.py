"""Kafka topic names and the partition counts the design needs.

Partition counts bound how many copies of a consumer can share the work; six lets three
copies of each service run side by side with two partitions each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RESPONSES = "anbefal.responses.v1"
ACTIONS = "anbefal.actions.v1"
TASK_EVENTS = "anbefal.task-events.v1"
SCORES = "anbefal.scores.v1"
TENANTS = "anbefal.tenants.v1"
AUDIT = "anbefal.audit.v1"
ERASURES = "anbefal.erasures.v1"
ERASURE_REPORTS = "anbefal.erasure-reports.v1"

DLQ_SUFFIX = ".dlq"


def dlq(topic: str) -> str:
    """The dead-letter topic of `topic`."""
    return topic + DLQ_SUFFIX


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


_MAIN: tuple[TopicSpec, ...] = (
    TopicSpec(RESPONSES, 6),
    TopicSpec(ACTIONS, 6),
    TopicSpec(TASK_EVENTS, 6),
    TopicSpec(SCORES, 3),
    # Tenant settings are state, not history: compaction keeps the latest per tenant forever.
    TopicSpec(TENANTS, 1, {"cleanup.policy": "compact"}),
    TopicSpec(AUDIT, 3),
    # An erasure request names the person (sealed) and is worth nothing once every service
    # reported: kept a week, long enough for a service that was down to catch up.
    TopicSpec(ERASURES, 3, {"retention.ms": str(7 * 24 * 3600 * 1000)}),
    TopicSpec(ERASURE_REPORTS, 3),
)

ALL_TOPICS: tuple[TopicSpec, ...] = _MAIN + tuple(TopicSpec(dlq(t.name), 1) for t in _MAIN)
