"""the respondents' data keys (crypto-shredding), in the shared `privacy` schema

Revision: inge0005
Parent: inge0004

Ingest mints the keys, so its migrations create the table; every service that seals or opens
contact data reads it (anbefal.common.datakeys).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "inge0005"
down_revision: str | None = "inge0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS privacy")
    op.create_table(
        "data_keys",
        sa.Column("tenant", sa.String(63), primary_key=True),
        sa.Column("respondent", sa.Text(), primary_key=True),
        # The key, sealed with the deployment keyring (ANBEFAL_DATA_KEYS).
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        schema="privacy",
    )


def downgrade() -> None:
    op.drop_table("data_keys", schema="privacy")
