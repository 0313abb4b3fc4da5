"""staff users

Revision: noti0003
Parent: noti0002
Created: 2026-11-22 17:21:24.021072
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0003"
down_revision: str | None = "noti0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("tenant", "email", name=op.f("uq_staff_users_tenant_email")),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_table("staff_users", schema="notify")
