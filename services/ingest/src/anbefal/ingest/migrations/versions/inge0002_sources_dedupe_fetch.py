"""survey-tool sources, dedupe keys, fetch jobs; replayable rejected bodies

Revision: inge0002
Parent: inge0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "inge0002"
down_revision: str | None = "inge0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "rejected",
        sa.Column("verified", sa.Boolean(), server_default="false", nullable=False),
        schema="ingest",
    )
    op.add_column(
        "rejected",
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        schema="ingest",
    )
    op.create_table(
        "sources",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("tool", sa.String(length=40), nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("api_token", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "name", name=op.f("pk_sources")),
        schema="ingest",
    )
    op.create_table(
        "seen_answers",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("event_id", "version", name=op.f("pk_seen_answers")),
        schema="ingest",
    )
    op.create_index(
        op.f("ix_ingest_seen_answers_seen_at"), "seen_answers", ["seen_at"], schema="ingest"
    )
    op.create_table(
        "fetch_jobs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column("survey_id", sa.String(length=200), nullable=False),
        sa.Column("response_id", sa.String(length=200), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fetch_jobs")),
        schema="ingest",
    )
    op.create_index(
        op.f("ix_ingest_fetch_jobs_next_attempt_at"),
        "fetch_jobs",
        ["next_attempt_at"],
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ingest_fetch_jobs_next_attempt_at"), "fetch_jobs", schema="ingest")
    op.drop_table("fetch_jobs", schema="ingest")
    op.drop_index(op.f("ix_ingest_seen_answers_seen_at"), "seen_answers", schema="ingest")
    op.drop_table("seen_answers", schema="ingest")
    op.drop_table("sources", schema="ingest")
    op.drop_column("rejected", "replayed_at", schema="ingest")
    op.drop_column("rejected", "verified", schema="ingest")
