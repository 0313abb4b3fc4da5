"""suppression list, unsubscribe links, the next escalation level

Revision: noti0005
Parent: noti0004
Created: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0005"
down_revision: str | None = "noti0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant", "email", name=op.f("pk_suppressions")),
        schema="notify",
    )
    op.add_column("emails", sa.Column("unsubscribe_url", sa.Text(), nullable=True), schema="notify")
    op.add_column(
        "tasks",
        sa.Column("escalated_next_at", sa.DateTime(timezone=True), nullable=True),
        schema="notify",
    )
    op.add_column(
        "tenants",
        sa.Column("escalation_next", sa.String(length=320), nullable=True),
        schema="notify",
    )
    op.add_column(
        "tenants",
        sa.Column("escalation_next_after_hours", sa.Float(), server_default="24", nullable=False),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_column("tenants", "escalation_next_after_hours", schema="notify")
    op.drop_column("tenants", "escalation_next", schema="notify")
    op.drop_column("tasks", "escalated_next_at", schema="notify")
    op.drop_column("emails", "unsubscribe_url", schema="notify")
    op.drop_table("suppressions", schema="notify")
