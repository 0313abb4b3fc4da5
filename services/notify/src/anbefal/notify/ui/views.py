"""A task as the staff pages and the task-link page show it (the viewer's rights applied)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from anbefal.common.auth import Role
from anbefal.notify.access import respondent_for
from anbefal.notify.models import Task
from anbefal.notify.tasks.lifecycle import is_overdue


def reach(task: Task, logins: Collection[str]) -> str:
    """How the task's owner is reached: `login` (the staff page), `link` (a signed task link),
    `none` (nobody: the task waits in the fallback queue), `` (no owner)."""
    if not task.assignee:
        return ""
    if task.assignee.lower() in logins:
        return "login"
    return "link" if task.assignee_trusted else "none"


def task_view(
    task: Task, now: datetime, role: Role, logins: Collection[str] = ()
) -> dict[str, Any]:
    """`logins`: the tenant's lower-cased staff logins among the owners shown (for `reach`)."""
    return {
        "id": task.id,
        "type": task.type,
        "due_at": task.due_at,
        "overdue": is_overdue(task.status, task.due_at, now),
        "attached": task.attached,
        "score": task.score,
        "comment": task.comment,
        "answered_at": task.answered_at,
        "respondent": respondent_for(role, task.respondent),
        "status": task.status,
        "claimed_by": task.claimed_by,
        "assignee": task.assignee,
        "outcome": task.outcome,
        "escalated_at": task.escalated_at,
        "reach": reach(task, logins),
    }
