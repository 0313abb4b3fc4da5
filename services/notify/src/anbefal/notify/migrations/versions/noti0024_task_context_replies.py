"""an account's earlier tasks (index); replies sent from a task

Revision: noti0024
Parent: noti0023
Created: 2026-12-05 04:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "noti0024"
down_revision: str | None = "noti0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_account",
        "tasks",
        ["tenant", sa.text("(respondent ->> 'account_id')")],
        unique=False,
        schema="notify",
    )
    op.create_table(
        "task_replies",
        sa.Column("id", postgresql.UUID(), nullable=False),
        sa.Column("task_id", postgresql.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["task_id"], ["notify.tasks.id"], name=op.f("fk_task_replies_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_replies")),
        schema="notify",
    )
    op.create_index(
        op.f("ix_notify_task_replies_task_id"), "task_replies", ["task_id"], schema="notify"
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_notify_task_replies_task_id"), table_name="task_replies", schema="notify"
    )
    op.drop_table("task_replies", schema="notify")
    op.drop_index("ix_tasks_account", table_name="tasks", schema="notify")
