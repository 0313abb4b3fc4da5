"""initial schema

Revision: noti0001
Parent: (none)
Created: 2026-11-22 15:51:05.996425
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "noti0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consumer_offsets",
        sa.Column("group_id", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("group_id", "topic", "partition", name=op.f("pk_consumer_offsets")),
        schema="notify",
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("group_id", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column(
            "failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint(
            "group_id",
            "topic",
            "partition",
            "offset",
            name=op.f("uq_dead_letters_group_id_topic_partition_offset"),
        ),
        schema="notify",
    )
    op.create_table(
        "emails",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=400), nullable=False),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("trace_id", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emails")),
        sa.UniqueConstraint("action_id", name=op.f("uq_emails_action_id")),
        schema="notify",
    )
    op.create_index(
        "ix_emails_due",
        "emails",
        ["next_attempt_at"],
        unique=False,
        schema="notify",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        op.f("ix_notify_emails_tenant"), "emails", ["tenant"], unique=False, schema="notify"
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assignee", sa.String(length=320), nullable=True),
        sa.Column("assignee_role", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("response_event_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respondent", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("segments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("action_id", name=op.f("uq_tasks_action_id")),
        schema="notify",
    )
    op.create_index(
        "ix_tasks_queue", "tasks", ["tenant", "status", "due_at"], unique=False, schema="notify"
    )
    op.create_table(
        "tenants",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=True),
        sa.Column("sender_email", sa.String(length=320), nullable=True),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_tenants")),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_table("tenants", schema="notify")
    op.drop_index("ix_tasks_queue", table_name="tasks", schema="notify")
    op.drop_table("tasks", schema="notify")
    op.drop_index(op.f("ix_notify_emails_tenant"), table_name="emails", schema="notify")
    op.drop_index(
        "ix_emails_due",
        table_name="emails",
        schema="notify",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("emails", schema="notify")
    op.drop_table("dead_letters", schema="notify")
    op.drop_table("consumer_offsets", schema="notify")
