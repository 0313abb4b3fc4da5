"""published eNPS buckets, segment state, scores outbox

Revision: scor0002
Parent: scor0001
Created: 2026-12-01 19:25:50.985734
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "scor0002"
down_revision: str | None = "scor0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        schema="scoring",
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["created_at"],
        unique=False,
        schema="scoring",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "published_buckets",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("dimension", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("promoters", sa.Integer(), nullable=False),
        sa.Column("passives", sa.Integer(), nullable=False),
        sa.Column("detractors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant", "kind", "dimension", "value", "day", name=op.f("pk_published_buckets")
        ),
        schema="scoring",
    )
    op.create_table(
        "segment_state",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("dimension", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.Column("published_changes", sa.BigInteger(), nullable=False),
        sa.Column("dirty_since", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(
            "tenant", "kind", "dimension", "value", name=op.f("pk_segment_state")
        ),
        schema="scoring",
    )
    op.create_index(
        "ix_segment_state_dirty_since",
        "segment_state",
        ["dirty_since"],
        unique=False,
        schema="scoring",
        postgresql_where=sa.text("dirty_since IS NOT NULL"),
    )
    op.create_index(
        "ix_answers_tenant_kind_day",
        "answers",
        ["tenant", "kind", "day"],
        unique=False,
        schema="scoring",
    )
    # eNPS figures already shown stay shown: publish today's buckets, and count every answer
    # in them as already published (the next k changes of a segment move it).
    op.execute(
        "INSERT INTO scoring.published_buckets SELECT * FROM scoring.daily_buckets"
        " WHERE kind = 'enps'"
    )
    op.execute(
        "INSERT INTO scoring.segment_state"
        " (tenant, kind, dimension, value, changes, published_changes)"
        " SELECT tenant, kind, dimension, value, sum(promoters + passives + detractors),"
        " sum(promoters + passives + detractors)"
        " FROM scoring.daily_buckets GROUP BY tenant, kind, dimension, value"
    )


def downgrade() -> None:
    op.drop_index("ix_answers_tenant_kind_day", table_name="answers", schema="scoring")
    op.drop_index(
        "ix_segment_state_dirty_since",
        table_name="segment_state",
        schema="scoring",
        postgresql_where=sa.text("dirty_since IS NOT NULL"),
    )
    op.drop_table("segment_state", schema="scoring")
    op.drop_table("published_buckets", schema="scoring")
    op.drop_index(
        "ix_outbox_unpublished",
        table_name="outbox",
        schema="scoring",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox", schema="scoring")
