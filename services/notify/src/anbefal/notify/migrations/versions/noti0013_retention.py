"""tenants carry how long tasks and mail keep personal data (the retention worker)

Revision: noti0013
Parent: noti0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0013"
down_revision: str | None = "noti0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("tasks_retention_days", sa.Integer(), nullable=False, server_default="730"),
        schema="notify",
    )
    op.add_column(
        "tenants",
        sa.Column("emails_retention_days", sa.Integer(), nullable=False, server_default="30"),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_column("tenants", "emails_retention_days", schema="notify")
    op.drop_column("tenants", "tasks_retention_days", schema="notify")
