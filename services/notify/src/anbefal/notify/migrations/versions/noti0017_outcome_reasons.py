"""outcome reasons: a task's reason, every completion kept across reopens, tenants' reason codes

Revision: noti0017
Parent: noti0016
Created: 2026-12-05 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "noti0017"
down_revision: str | None = "noti0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("reason", sa.String(length=40)), schema="notify")
    op.create_table(
        "task_completions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40)),
        sa.Column("completed_by", sa.String(length=320), nullable=False),
        sa.Column(
            "completed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("reopened_by", sa.String(length=320)),
        sa.Column("reopened_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["task_id"], ["notify.tasks.id"], name=op.f("fk_task_completions_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_completions")),
        schema="notify",
    )
    op.create_index(
        op.f("ix_notify_task_completions_task_id"),
        "task_completions",
        ["task_id"],
        unique=False,
        schema="notify",
    )
    # The completions made before this revision, so every done task has its row.
    op.execute(
        "INSERT INTO notify.task_completions (id, task_id, tenant, outcome, completed_by, "
        "completed_at) SELECT gen_random_uuid(), id, tenant, outcome, "
        "coalesce(claimed_by, 'unknown'), completed_at FROM notify.tasks "
        "WHERE status = 'done' AND outcome IS NOT NULL AND completed_at IS NOT NULL"
    )
    op.create_table(
        "outcome_reasons",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_by", sa.String(length=320)),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_outcome_reasons")),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_table("outcome_reasons", schema="notify")
    op.drop_index(
        op.f("ix_notify_task_completions_task_id"), table_name="task_completions", schema="notify"
    )
    op.drop_table("task_completions", schema="notify")
    op.drop_column("tasks", "reason", schema="notify")
