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

from anbefal.common.auth import Role
from anbefal.common.errors import Conflict, Forbidden

Outcome = Literal["reached", "voicemail", "no_answer", "wrong_number", "resolved"]
Transition = Literal["claim", "complete", "reassign", "reopen"]
LEADS = frozenset({Role.DIRECTOR, Role.ADMIN})
STAFF = (Role.AGENT, Role.DIRECTOR, Role.ADMIN)  # the roles that work tasks: staff accounts
ACTIVE = ("open", "claimed")  # in the queue, on the SLA clock


def check(
    transition: Transition, *, status: str, holder: str | None, actor: str, role: str
) -> None:
    """Raise `Forbidden` (the actor may not) or `Conflict` (not in the task's state) unless
    `actor` (with `role`) may make `transition` now."""
    if role not in STAFF:
        raise Forbidden(f"role {str(role)!r} cannot work tasks")
    if status == "cancelled":
        raise Conflict("the answer no longer calls for this task", code="cancelled")
    if transition == "claim":
        if status == "claimed" and holder == actor:
            return  # claiming your own task again is harmless
        if status != "open":
            raise Conflict(f"task is {status}, held by {holder}", code="not_open")
    elif transition == "complete":
        if status != "claimed":
            raise Conflict(f"task is {status}; claim it first", code="not_claimed")
        if holder != actor and role not in LEADS:
            raise Forbidden(f"task is held by {holder}", code="not_holder")
    elif transition == "reassign":
        if role not in LEADS:
            raise Forbidden("only a director or admin reassigns")
        if status == "done":
            raise Conflict("reopen the task before reassigning it", code="done")
    elif transition == "reopen":
        if status != "done":
            raise Conflict(f"task is {status}, not done", code="not_done")
        if role not in LEADS and holder != actor:
            raise Forbidden("only the holder or a director reopens", code="not_holder")


def after_revision(status: str, cancelled: bool) -> str:
    """A task's status once a newer revision of its action applies. A done task stays done
    (the call happened); a cancelled one comes back only if the revision is not cancelled."""
    if cancelled:
        return "cancelled" if status in ACTIVE else status
    return "open" if status == "cancelled" else status


def is_overdue(status: str, due_at: datetime | None, now: datetime) -> bool:
    return status in ACTIVE and due_at is not None and due_at < now
