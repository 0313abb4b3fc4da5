"""task revisions: the applied action revision and attached answers

Revision: noti0008
Parent: noti0007
Created: 2026-12-01 19:58:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "noti0008"
down_revision: str | None = "noti0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tasks",
        sa.Column("revision", sa.Integer(), server_default="1", nullable=False),
        schema="notify",
    )
    op.add_column(
        "tasks",
        sa.Column(
            "attached",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_column("tasks", "attached", schema="notify")
    op.drop_column("tasks", "revision", schema="notify")
