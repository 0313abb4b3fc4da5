from __future__ import annotations

import pytest

from anbefal.common.errors import ServiceError
from anbefal.notify.tasks.lifecycle import after_revision, check


def refused(transition: str, **state: str | None) -> int:
    with pytest.raises(ServiceError) as caught:
        check(transition, **state)  # type: ignore[arg-type]
    return caught.value.status


def test_an_open_task_can_be_claimed_by_staff() -> None:
    check("claim", status="open", holder=None, actor="ida", role="agent")
    check("claim", status="claimed", holder="ida", actor="ida", role="agent")  # again: harmless


def test_a_held_or_done_task_cannot_be_claimed() -> None:
    assert refused("claim", status="claimed", holder="ole", actor="ida", role="agent") == 409
    assert refused("claim", status="done", holder="ole", actor="ida", role="director") == 409


@pytest.mark.parametrize("role", ["viewer", "ops", "ingest"])
def test_only_staff_work_tasks(role: str) -> None:
    assert refused("claim", status="open", holder=None, actor="x", role=role) == 403


def test_only_the_holder_or_a_lead_completes() -> None:
    check("complete", status="claimed", holder="ida", actor="ida", role="agent")
    check("complete", status="claimed", holder="ida", actor="boss", role="director")
    assert refused("complete", status="claimed", holder="ida", actor="ole", role="agent") == 403
    assert refused("complete", status="open", holder=None, actor="ida", role="agent") == 409


def test_reassign_and_reopen() -> None:
    check("reassign", status="claimed", holder="ida", actor="boss", role="director")
    assert refused("reassign", status="open", holder=None, actor="ida", role="agent") == 403
    assert refused("reassign", status="done", holder="ida", actor="boss", role="admin") == 409
    check("reopen", status="done", holder="ida", actor="ida", role="agent")
    assert refused("reopen", status="done", holder="ida", actor="ole", role="agent") == 403
    assert refused("reopen", status="open", holder=None, actor="boss", role="director") == 409


def test_a_cancelled_task_takes_no_transition() -> None:
    for transition in ("claim", "complete", "reassign", "reopen"):
        assert (
            refused(transition, status="cancelled", holder="ida", actor="boss", role="admin") == 409
        )


@pytest.mark.parametrize(
    ("status", "cancelled", "after"),
    [
        ("open", True, "cancelled"),
        ("claimed", True, "cancelled"),
        ("done", True, "done"),  # the call happened; cancelling does not unmake it
        ("cancelled", False, "open"),  # revived by a later revision
        ("claimed", False, "claimed"),  # a late comment leaves the holder alone
        ("cancelled", True, "cancelled"),
    ],
)
def test_status_after_a_revision(status: str, cancelled: bool, after: str) -> None:
    assert after_revision(status, cancelled) == after
