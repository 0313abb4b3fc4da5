"""closed-loop figures: a task's first contact, tasks by the day of their answer

Revision: noti0020
Parent: noti0019
Created: 2026-12-05 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0020"
down_revision: str | None = "noti0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tasks", sa.Column("first_contact_at", sa.DateTime(timezone=True)), schema="notify"
    )
    # Tasks worked before this revision: their claim, else their first completion (a reassign
    # or reopen may have cleared the claim since).
    op.execute(
        "UPDATE notify.tasks t SET first_contact_at = coalesce(t.claimed_at, "
        "(SELECT min(c.completed_at) FROM notify.task_completions c WHERE c.task_id = t.id), "
        "t.completed_at) WHERE t.first_contact_at IS NULL"
    )
    op.create_index(
        "ix_tasks_answered", "tasks", ["tenant", "answered_at"], unique=False, schema="notify"
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_answered", table_name="tasks", schema="notify")
    op.drop_column("tasks", "first_contact_at", schema="notify")
