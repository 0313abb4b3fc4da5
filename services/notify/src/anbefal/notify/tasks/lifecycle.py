"""The call-back queue's state machine, pure: which transitions are allowed for whom.

open ──claim──▶ claimed ──complete──▶ done
  ▲               │  ▲                  │
  └──reassign─────┘  └──────reopen──────┘   (reopen and reassign put a task back in the queue)

closed_loop may cancel an open or claimed task (the answer's score changed): `cancelled` takes
no transition until a later revision of the action revives it (back to `open`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

Outcome = Literal["reached", "voicemail", "no_answer", "wrong_number", "resolved"]
Transition = Literal["claim", "complete", "reassign", "reopen"]
LEADS = {"director", "admin"}
STAFF = {"agent", "director", "admin"}
ACTIVE = ("open", "claimed")  # in the queue, on the SLA clock


class TransitionRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def check(
    transition: Transition, *, status: str, holder: str | None, actor: str, role: str
) -> None:
    """Raise `TransitionRefused` unless `actor` (with `role`) may make `transition` now."""
    if role not in STAFF:
        raise TransitionRefused(403, "forbidden", f"role {role!r} cannot work tasks")
    if status == "cancelled":
        raise TransitionRefused(409, "cancelled", "the answer no longer calls for this task")
    if transition == "claim":
        if status == "claimed" and holder == actor:
            return  # claiming your own task again is harmless
        if status != "open":
            raise TransitionRefused(409, "not_open", f"task is {status}, held by {holder}")
    elif transition == "complete":
        if status != "claimed":
            raise TransitionRefused(409, "not_claimed", f"task is {status}; claim it first")
        if holder != actor and role not in LEADS:
            raise TransitionRefused(403, "not_holder", f"task is held by {holder}")
    elif transition == "reassign":
        if role not in LEADS:
            raise TransitionRefused(403, "forbidden", "only a director or admin reassigns")
        if status == "done":
            raise TransitionRefused(409, "done", "reopen the task before reassigning it")
    elif transition == "reopen":
        if status != "done":
            raise TransitionRefused(409, "not_done", f"task is {status}, not done")
        if role not in LEADS and holder != actor:
            raise TransitionRefused(403, "not_holder", "only the holder or a director reopens")


def after_revision(status: str, cancelled: bool) -> str:
    """A task's status once a newer revision of its action applies. A done task stays done
    (the call happened); a cancelled one comes back only if the revision is not cancelled."""
    if cancelled:
        return "cancelled" if status in ACTIVE else status
    return "open" if status == "cancelled" else status


def is_overdue(status: str, due_at: datetime | None, now: datetime) -> bool:
    return status in ACTIVE and due_at is not None and due_at < now
