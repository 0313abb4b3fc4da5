"""notify's tables for replies sent from a task (`tasks/reply.py`), beside `models.py`.

A reply is a mail in the email outbox (`emails`, keyed by the reply's id, so one reply is one
mail); this row ties it to its task and says who sent it. It holds no personal data of the
respondent: the subject, text and address are the mail's, which erasure and retention clear.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from anbefal.notify.models import Base, Task


class TaskReply(Base):
    __tablename__ = "task_replies"

    # uuid5(task id, the form's key): a form sent twice is one reply; also the mail's key.
    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey(Task.id), index=True)
    tenant: Mapped[str] = mapped_column(String(63))
    author: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
