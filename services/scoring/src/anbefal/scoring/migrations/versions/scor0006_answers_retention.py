"""tenants carry how long answers keep the hashes that link them to a person (retention)

Revision: scor0006
Parent: scor0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scor0006"
down_revision: str | None = "scor0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("answers_retention_days", sa.Integer(), nullable=False, server_default="730"),
        schema="scoring",
    )


def downgrade() -> None:
    op.drop_column("tenants", "answers_retention_days", schema="scoring")
