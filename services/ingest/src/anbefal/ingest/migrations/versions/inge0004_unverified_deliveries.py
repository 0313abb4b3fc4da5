"""deliveries that failed verification: a sampled line each, never their bodies

Revision: inge0004
Parent: inge0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "inge0004"
down_revision: str | None = "inge0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unverified_deliveries",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("user_agent", sa.String(200), nullable=True),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        schema="ingest",
    )
    op.create_index(
        "ix_ingest_unverified_deliveries_tenant_id",
        "unverified_deliveries",
        ["tenant", "id"],
        schema="ingest",
    )
    op.create_index(
        op.f("ix_ingest_unverified_deliveries_received_at"),
        "unverified_deliveries",
        ["received_at"],
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_table("unverified_deliveries", schema="ingest")
