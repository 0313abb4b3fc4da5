"""staff sessions, and deactivated staff users

Revision: noti0012
Parent: noti0011
Created: 2026-12-04 22:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0012"
down_revision: str | None = "noti0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "staff_users",
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        schema="notify",
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        schema="notify",
    )
    op.create_index(
        "ix_staff_sessions_user", "staff_sessions", ["tenant", "email"], schema="notify"
    )
    op.create_index(
        op.f("ix_notify_staff_sessions_expires_at"),
        "staff_sessions",
        ["expires_at"],
        schema="notify",
    )


def downgrade() -> None:
    op.drop_table("staff_sessions", schema="notify")
    op.drop_column("staff_users", "active", schema="notify")
