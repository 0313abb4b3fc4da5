"""owners, the answers seen, and the actions decided with their revisions

Revision: clos0003
Parent: clos0002
Created: 2026-12-01 19:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "clos0003"
down_revision: str | None = "clos0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "closed_loop"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("account_id", sa.String(length=200), nullable=False),
        sa.Column("salesperson", sa.String(length=320), nullable=True),
        sa.Column("director", sa.String(length=320), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "account_id", name=op.f("pk_accounts")),
        schema=S,
    )
    op.create_table(
        "segment_owners",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("dimension", sa.String(length=63), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("director", sa.String(length=320), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "dimension", "value", name=op.f("pk_segment_owners")),
        schema=S,
    )
    op.create_table(
        "people",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("person", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "email", name=op.f("pk_people")),
        schema=S,
    )
    op.create_table(
        "answers",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_answers")),
        schema=S,
    )
    op.create_index("ix_answers_tenant_answered_at", "answers", ["tenant", "answered_at"], schema=S)
    op.create_table(
        "actions",
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("response_event_id", sa.UUID(), nullable=False),
        sa.Column("rule_id", sa.String(length=63), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("respondent_key", sa.String(length=200), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("released_revision", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("attach_to", sa.UUID(), nullable=True),
        sa.Column("release_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_actions")),
        schema=S,
    )
    op.create_index("ix_actions_response", "actions", ["response_event_id"], schema=S)
    op.create_index(
        "ix_actions_respondent", "actions", ["tenant", "respondent_key", "type"], schema=S
    )
    op.create_index(
        "ix_actions_attach_to",
        "actions",
        ["attach_to"],
        schema=S,
        postgresql_where=sa.text("attach_to IS NOT NULL"),
    )
    op.create_index(
        "ix_actions_held",
        "actions",
        ["release_at"],
        schema=S,
        postgresql_where=sa.text("release_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("actions", schema=S)
    op.drop_table("answers", schema=S)
    op.drop_table("people", schema=S)
    op.drop_table("segment_owners", schema=S)
    op.drop_table("accounts", schema=S)
