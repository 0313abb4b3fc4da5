"""sla clock

Revision: noti0004
Parent: noti0003
Created: 2026-11-22 17:30:53.309689
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0004"
down_revision: str | None = "noti0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tasks", sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True), schema="notify"
    )
    op.add_column(
        "tasks",
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        schema="notify",
    )
    op.add_column(
        "tenants",
        sa.Column("default_director", sa.String(length=320), nullable=True),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_column("tenants", "default_director", schema="notify")
    op.drop_column("tasks", "escalated_at", schema="notify")
    op.drop_column("tasks", "warned_at", schema="notify")
