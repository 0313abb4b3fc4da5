"""Contract of `anbefal.task-events.v1`: a completion carries its outcome and reason code
(additive fields), and a record from a producer that did not know them still decodes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from anbefal.common.events import TaskEvent, decode

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_a_completion_carries_its_outcome_and_reason() -> None:
    event = TaskEvent(
        event_id=uuid.uuid4(), tenant="acme", task_id=uuid.uuid4(), action_id=uuid.uuid4(),
        type="completed", at=NOW, actor="ida@acme.example", outcome="reached", reason="price",
    )  # fmt: skip
    back = decode(TaskEvent, event.to_bytes())
    assert back == event
    assert (back.outcome, back.reason) == ("reached", "price")


def test_an_older_producers_event_decodes_without_them() -> None:
    old = (
        b'{"schema_version":1,"event_id":"%s","tenant":"acme","task_id":"%s","action_id":"%s",'
        b'"type":"completed","at":"2026-12-05T09:00:00Z","actor":"ida"}'
    ) % (str(uuid.uuid4()).encode(), str(uuid.uuid4()).encode(), str(uuid.uuid4()).encode())
    event = decode(TaskEvent, old)
    assert (event.type, event.outcome, event.reason) == ("completed", None, None)
