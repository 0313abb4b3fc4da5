"""ingest keeps the tenants' settings it applies: how long refused bodies are kept

Revision: inge0008
Parent: inge0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "inge0008"
down_revision: str | None = "inge0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("rejected_retention_days", sa.Integer(), nullable=False, server_default="30"),
        sa.Column("enps_rejected_retention_days", sa.Integer(), nullable=False, server_default="7"),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_tenants")),
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_table("tenants", schema="ingest")
