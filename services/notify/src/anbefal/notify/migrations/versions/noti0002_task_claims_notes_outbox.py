"""task claims, notes and the task-events outbox

Revision: noti0002
Parent: noti0001
Created: 2026-11-22 16:53:29.661357
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "noti0002"
down_revision: str | None = "noti0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        schema="notify",
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["created_at"],
        unique=False,
        schema="notify",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "task_notes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["notify.tasks.id"], name=op.f("fk_task_notes_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_notes")),
        schema="notify",
    )
    op.create_index(
        op.f("ix_notify_task_notes_task_id"),
        "task_notes",
        ["task_id"],
        unique=False,
        schema="notify",
    )
    op.add_column(
        "tasks", sa.Column("claimed_by", sa.String(length=320), nullable=True), schema="notify"
    )
    op.add_column(
        "tasks", sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True), schema="notify"
    )
    op.add_column(
        "tasks", sa.Column("outcome", sa.String(length=20), nullable=True), schema="notify"
    )
    op.add_column(
        "tasks",
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_column("tasks", "completed_at", schema="notify")
    op.drop_column("tasks", "outcome", schema="notify")
    op.drop_column("tasks", "claimed_at", schema="notify")
    op.drop_column("tasks", "claimed_by", schema="notify")
    op.drop_index(op.f("ix_notify_task_notes_task_id"), table_name="task_notes", schema="notify")
    op.drop_table("task_notes", schema="notify")
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        schema="notify",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox", schema="notify")
