"""initial schema

Revision: inge0001
Parent: (none)
Created: 2026-11-22 15:51:05.560272
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "inge0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rejected",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected")),
        schema="ingest",
    )
    op.create_index(
        op.f("ix_ingest_rejected_received_at"),
        "rejected",
        ["received_at"],
        unique=False,
        schema="ingest",
    )
    op.create_index(
        op.f("ix_ingest_rejected_tenant"), "rejected", ["tenant"], unique=False, schema="ingest"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ingest_rejected_tenant"), table_name="rejected", schema="ingest")
    op.drop_index(op.f("ix_ingest_rejected_received_at"), table_name="rejected", schema="ingest")
    op.drop_table("rejected", schema="ingest")
