from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
    created_at: datetime


class TaskList(BaseModel):
    tasks: list[TaskOut]


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
