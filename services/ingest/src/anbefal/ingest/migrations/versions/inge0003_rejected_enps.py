"""rejected bodies say whether they hold eNPS answers (kept for a shorter time)

Revision: inge0003
Parent: inge0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "inge0003"
down_revision: str | None = "inge0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "rejected",
        sa.Column("enps", sa.Boolean(), nullable=False, server_default="false"),
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_column("rejected", "enps", schema="ingest")
