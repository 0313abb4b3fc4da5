"""The context for a call: what the person about to ring or write a respondent should know,
assembled from what notify keeps of the action that made the task (`tasks` row: the
respondent with their account and language, the answer, the segments, the rule, its owner's
source and due clock) and from the tenant's other tasks.

Nothing here reaches into another service: closed_loop's action carries what its rules and
owners decided, and notify keeps all of it on the task. The earlier tasks listed are the
reader's to see: a team lead's scope applies to them as to the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal
from anbefal.notify.access import respondent_for
from anbefal.notify.models import Task
from anbefal.notify.tasks import repository

# How many earlier tasks of the respondent, and of their account, the page lists.
FEW = 5


@dataclass(frozen=True)
class Earlier:
    """Another task of the same respondent or account, as the list shows it."""

    id: str
    answered_at: datetime
    score: int
    comment: str | None
    respondent: str
    status: str
    outcome: str | None


@dataclass(frozen=True)
class Rule:
    """Why the task exists: the rule that made it, on which score, owned by whom and why, and
    how its due time was counted."""

    rule_id: str
    score: int
    kind: str
    owner_source: str | None
    due_clock: str | None
    due_at: datetime | None


@dataclass(frozen=True)
class CallContext:
    type: str
    account: str | None
    segments: dict[str, str]
    language: str | None
    # The respondent as the reader may see them (no email and phone for viewers).
    respondent: dict[str, Any]
    rule: Rule
    respondent_history: list[Earlier]
    account_history: list[Earlier]


def _earlier(task: Task, reader: Principal) -> Earlier:
    shown = respondent_for(reader.role, task.respondent)
    return Earlier(
        id=str(task.id),
        answered_at=task.answered_at,
        score=task.score,
        comment=task.comment,
        respondent=str(shown.get("name") or shown.get("key") or ""),
        status=task.status,
        outcome=task.outcome,
    )


async def assemble(
    session: AsyncSession, task: Task, reader: Principal | None, *, few: int = FEW
) -> CallContext:
    """`task`'s context for `reader`; with no reader (a signed link to this one task) the task's
    own facts only, and no other task."""
    role = reader.role if reader else None
    respondent = respondent_for(role, task.respondent) if role else dict(task.respondent)
    by_respondent: list[Earlier] = []
    by_account: list[Earlier] = []
    if reader is not None:
        found = await repository.respondent_history(session, task, reader.scope, few)
        by_respondent = [_earlier(t, reader) for t in found]
        found = await repository.account_history(session, task, reader.scope, few)
        by_account = [_earlier(t, reader) for t in found]
    return CallContext(
        type=task.type,
        account=task.respondent.get("account_id"),
        segments=dict(sorted(task.segments.items())),
        language=task.respondent.get("locale"),
        respondent=respondent,
        rule=Rule(
            rule_id=task.rule_id,
            score=task.score,
            kind=task.kind,
            owner_source=task.assignee_source,
            due_clock=task.due_clock,
            due_at=task.due_at,
        ),
        respondent_history=by_respondent,
        account_history=by_account,
    )
