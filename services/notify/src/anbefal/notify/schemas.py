from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from anbefal.notify.tasks.lifecycle import Outcome


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    action_id: uuid.UUID
    type: str
    rule_id: str
    status: str
    assignee: str | None
    assignee_role: str
    due_at: datetime | None
    overdue: bool = False
    priority: int
    response_event_id: uuid.UUID
    kind: str
    score: int
    comment: str | None
    answered_at: datetime
    respondent: dict[str, str | None]
    segments: dict[str, str]
    revision: int = 1
    attached: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    # The first claim, kept through reassigning and reopening (the figures' first contact).
    first_contact_at: datetime | None = None
    outcome: str | None = None
    # One of the tenant's reason codes (`GET .../outcome-reasons`), chosen with the outcome.
    reason: str | None = None
    completed_at: datetime | None = None
    # The SLA clock's marks: the 75% warning, the escalation at breach, the next level.
    warned_at: datetime | None = None
    escalated_at: datetime | None = None
    escalated_next_at: datetime | None = None


NEXT_CURSOR = "pass as `cursor` for the next page; null: this was the last"


class TaskCounts(BaseModel):
    """The whole list's true numbers, whatever the page."""

    total: int
    open: int
    claimed: int
    overdue: int


class TaskList(BaseModel):
    tasks: list[TaskOut]
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR)
    total: int = Field(description="tasks in the whole list (every page)")
    counts: TaskCounts


class EmailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    action_id: uuid.UUID
    template: str
    message_id: str
    recipient: str | None
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class EmailList(BaseModel):
    emails: list[EmailOut]
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR)
    total: int = Field(description="the tenant's mails in the log (every page)")


class ChatMessageOut(BaseModel):
    """A Slack/Teams post; the webhook URL is a credential and is not shown."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    payload: dict[str, Any]
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class ChatMessageList(BaseModel):
    chat_messages: list[ChatMessageOut]
    next_cursor: str | None = Field(default=None, description=NEXT_CURSOR)
    total: int = Field(description="the tenant's posts in the log (every page)")


Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    author: str
    body: str
    outcome: str | None = Field(
        default=None, description="the completion this note was written with"
    )
    created_at: datetime


class CompletionOut(BaseModel):
    """One completion of a task; a reopened task keeps its earlier ones (`reopened_at`)."""

    model_config = ConfigDict(from_attributes=True)

    outcome: str
    reason: str | None
    completed_by: str
    completed_at: datetime
    reopened_by: str | None
    reopened_at: datetime | None


class TaskDetail(TaskOut):
    notes: list[NoteOut] = Field(default_factory=list)
    completions: list[CompletionOut] = Field(default_factory=list)


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: Note = Field(description="What was said or done; mandatory")
    reason: str | None = Field(
        default=None,
        max_length=40,
        description="Why the respondent was unhappy: one of the tenant's reason codes "
        "(`GET .../outcome-reasons`; 422 naming the allowed codes otherwise)",
    )


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: EmailStr
    note: Note | None = None


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note = Field(description="Why the task is reopened")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Note
