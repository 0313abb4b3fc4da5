"""actions remember when notify closed their task (the cool-down's open action)

Revision: clos0004
Parent: clos0003
Created: 2026-12-01 19:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "clos0004"
down_revision: str | None = "clos0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "actions",
        sa.Column("task_closed_at", sa.DateTime(timezone=True), nullable=True),
        schema="closed_loop",
    )


def downgrade() -> None:
    op.drop_column("actions", "task_closed_at", schema="closed_loop")
