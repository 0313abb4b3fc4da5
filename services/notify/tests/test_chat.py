from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from anbefal.notify.chat.service import wanted
from anbefal.notify.chat.worker import _retry_after
from anbefal.notify.models import Task, Tenant


def task(**values: object) -> Task:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "id": uuid.uuid4(), "tenant": "acme", "type": "call_task", "kind": "nps", "score": 3,
        "respondent": {"key": "c-1"}, "answered_at": now, "due_at": now + timedelta(hours=48),
    }  # fmt: skip
    return Task(**{**base, **values})


HOOKED = Tenant(tenant="acme", display_name="Acme", locale="en")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, True),
        ({"score": 6}, True),
        ({"score": 7}, False),  # a passive
        ({"type": "follow_up_task"}, False),
        ({"kind": "enps"}, False),  # never an employee in a shared channel
    ],
)
def test_only_nps_detractor_call_tasks_are_posted(
    values: dict[str, object], expected: bool
) -> None:
    assert wanted(task(**values), HOOKED) is expected


def test_no_webhook_no_post() -> None:
    assert not wanted(task(), HOOKED, hooked=False)
    assert not wanted(task(), None)


def test_retry_after_is_honoured_and_bounded() -> None:
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    assert _retry_after(answer("30")) == timedelta(seconds=30)
    assert _retry_after(answer("999999")) == timedelta(hours=1)
    assert _retry_after(answer("Wed, 21 Oct 2015 07:28:00 GMT")) == timedelta(0)
