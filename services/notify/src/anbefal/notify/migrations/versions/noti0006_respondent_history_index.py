"""index for a respondent's earlier tasks

Revision: noti0006
Parent: noti0005
Created: 2026-12-01 19:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0006"
down_revision: str | None = "noti0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_respondent",
        "tasks",
        ["tenant", sa.text("(respondent ->> 'key')")],
        unique=False,
        schema="notify",
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_respondent", table_name="tasks", schema="notify")
