"""chat outbox for Slack/Teams incoming webhooks

Revision: noti0007
Parent: noti0006
Created: 2026-12-01 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "noti0007"
down_revision: str | None = "noti0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tenants", sa.Column("chat_webhook_url", sa.Text(), nullable=True), schema="notify"
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        schema="notify",
    )
    op.create_index(
        "ix_chat_messages_due",
        "chat_messages",
        ["next_attempt_at"],
        unique=False,
        schema="notify",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        op.f("ix_notify_chat_messages_tenant"),
        "chat_messages",
        ["tenant"],
        unique=False,
        schema="notify",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_notify_chat_messages_tenant"), table_name="chat_messages", schema="notify"
    )
    op.drop_index("ix_chat_messages_due", table_name="chat_messages", schema="notify")
    op.drop_table("chat_messages", schema="notify")
    op.drop_column("tenants", "chat_webhook_url", schema="notify")
