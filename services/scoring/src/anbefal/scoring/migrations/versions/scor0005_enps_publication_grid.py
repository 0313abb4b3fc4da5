"""eNPS publication grid: published blocks per group and month

Revision: scor0005
Parent: scor0004
Created: 2026-12-04 22:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "scor0005"
down_revision: str | None = "scor0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = (
    "count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score BETWEEN 7 AND 8), "
    "count(*) FILTER (WHERE score <= 6)"
)


def upgrade() -> None:
    op.create_table(
        "enps_blocks",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("segments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("promoters", sa.Integer(), nullable=False),
        sa.Column("passives", sa.Integer(), nullable=False),
        sa.Column("detractors", sa.Integer(), nullable=False),
        sa.Column("shown_promoters", sa.Integer(), nullable=False),
        sa.Column("shown_passives", sa.Integer(), nullable=False),
        sa.Column("shown_detractors", sa.Integer(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.Column("shown_changes", sa.BigInteger(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "month", "segments", name=op.f("pk_enps_blocks")),
        schema="scoring",
    )
    # The answers so far become published blocks (figures already shown stay shown).
    op.execute(
        "INSERT INTO scoring.enps_blocks SELECT tenant, CAST(date_trunc('month', day) AS date), "
        f"segments - 'all', {_COUNTS}, {_COUNTS}, count(*), count(*), now() "
        "FROM scoring.answers WHERE kind = 'enps' GROUP BY 1, 2, 3"
    )
    op.add_column("segment_state", sa.Column("shown_figures", sa.String(200)), schema="scoring")
    op.drop_column("segment_state", "published_changes", schema="scoring")
    op.drop_table("published_buckets", schema="scoring")


def downgrade() -> None:
    # The published copy of the eNPS buckets starts again from the live ones.
    op.execute("CREATE TABLE scoring.published_buckets (LIKE scoring.daily_buckets INCLUDING ALL)")
    op.execute(
        "INSERT INTO scoring.published_buckets SELECT * FROM scoring.daily_buckets"
        " WHERE kind = 'enps'"
    )
    op.add_column(
        "segment_state",
        sa.Column("published_changes", sa.BigInteger(), server_default="0", nullable=False),
        schema="scoring",
    )
    op.execute("UPDATE scoring.segment_state SET published_changes = changes")
    op.drop_column("segment_state", "shown_figures", schema="scoring")
    op.drop_table("enps_blocks", schema="scoring")
