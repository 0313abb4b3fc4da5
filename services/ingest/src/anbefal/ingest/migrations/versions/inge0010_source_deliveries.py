"""how each source's deliveries were answered, per minute: the admin page's last deliveries

Revision: inge0010
Parent: inge0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "inge0010"
down_revision: str | None = "inge0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_deliveries",
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("source", sa.String(63), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_trace_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "source", "minute", "status_code", "outcome"),
        schema="ingest",
    )
    op.create_index(
        "ix_ingest_source_deliveries_last_at",
        "source_deliveries",
        ["last_at"],
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_index(
        "ix_ingest_source_deliveries_last_at", table_name="source_deliveries", schema="ingest"
    )
    op.drop_table("source_deliveries", schema="ingest")
