"""tenant rule sets with history

Revision: clos0002
Parent: clos0001
Created: 2026-11-22 17:36:22.072915
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "clos0002"
down_revision: str | None = "clos0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rule_set_history",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rule_set", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant", "version", name=op.f("pk_rule_set_history")),
        schema="closed_loop",
    )
    op.create_table(
        "rule_sets",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rule_set", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_by", sa.String(length=320), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_rule_sets")),
        schema="closed_loop",
    )


def downgrade() -> None:
    op.drop_table("rule_sets", schema="closed_loop")
    op.drop_table("rule_set_history", schema="closed_loop")
