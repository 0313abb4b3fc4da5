"""tenants carry their eNPS anonymity k (the dry run withholds eNPS counts under it)

Revision: clos0005
Parent: clos0004
Created: 2026-12-04 19:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "clos0005"
down_revision: str | None = "clos0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("anonymity_k", sa.Integer(), nullable=False, server_default="5"),
        schema="closed_loop",
    )


def downgrade() -> None:
    op.drop_column("tenants", "anonymity_k", schema="closed_loop")
