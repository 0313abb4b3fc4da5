"""covering window index on buckets

Revision: scor0003
Parent: scor0002
Created: 2026-12-01 19:43:39.199700
"""

from collections.abc import Sequence

from alembic import op

revision: str = "scor0003"
down_revision: str | None = "scor0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_daily_buckets_window",
        "daily_buckets",
        ["tenant", "kind", "dimension", "day"],
        unique=False,
        schema="scoring",
        postgresql_include=["value", "promoters", "passives", "detractors"],
    )
    op.create_index(
        "ix_published_buckets_window",
        "published_buckets",
        ["tenant", "kind", "dimension", "day"],
        unique=False,
        schema="scoring",
        postgresql_include=["value", "promoters", "passives", "detractors"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_published_buckets_window",
        table_name="published_buckets",
        schema="scoring",
        postgresql_include=["value", "promoters", "passives", "detractors"],
    )
    op.drop_index(
        "ix_daily_buckets_window",
        table_name="daily_buckets",
        schema="scoring",
        postgresql_include=["value", "promoters", "passives", "detractors"],
    )
