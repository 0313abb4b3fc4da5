"""tenants carry how long answers and actions keep personal data (the retention worker)

Revision: clos0006
Parent: clos0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "clos0006"
down_revision: str | None = "clos0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("answers_retention_days", sa.Integer(), nullable=False, server_default="730"),
        schema="closed_loop",
    )


def downgrade() -> None:
    op.drop_column("tenants", "answers_retention_days", schema="closed_loop")
