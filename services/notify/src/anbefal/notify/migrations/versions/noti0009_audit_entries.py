"""audit entries: the audit trail of every service, served by notify

Revision: noti0009
Parent: noti0008
Created: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "noti0009"
down_revision: str | None = "noti0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_sub", sa.String(length=320), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=63), nullable=False),
        sa.Column("target", sa.String(length=400), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_audit_entries")),
        schema="notify",
    )
    op.create_index(
        "ix_audit_entries_tenant_at",
        "audit_entries",
        ["tenant", "at", "event_id"],
        schema="notify",
    )
    op.create_index(
        "ix_audit_entries_tenant_kind_at",
        "audit_entries",
        ["tenant", "kind", "at", "event_id"],
        schema="notify",
    )


def downgrade() -> None:
    op.drop_table("audit_entries", schema="notify")
