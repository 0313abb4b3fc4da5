"""tasks: where the assignee came from, whether a signed link may reach them, the due clock

Revision: noti0022
Parent: noti0021
Created: 2026-12-05 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0022"
down_revision: str | None = "noti0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tasks",
        sa.Column("assignee_source", sa.String(length=20), nullable=True),
        schema="notify",
    )
    # Tasks made before this revision do not say where their assignee came from: none of them
    # is trusted with a signed link (a staff login still reaches its owner).
    op.add_column(
        "tasks",
        sa.Column(
            "assignee_trusted", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        schema="notify",
    )
    op.add_column(
        "tasks", sa.Column("due_clock", sa.String(length=20), nullable=True), schema="notify"
    )


def downgrade() -> None:
    op.drop_column("tasks", "due_clock", schema="notify")
    op.drop_column("tasks", "assignee_trusted", schema="notify")
    op.drop_column("tasks", "assignee_source", schema="notify")
