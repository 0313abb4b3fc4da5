"""answers keep what the answers API shows: the comment, and an NPS respondent's key, name and
account (never contact details; eNPS answers keep the comment only)

Revision: scor0007
Parent: scor0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scor0007"
down_revision: str | None = "scor0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("comment", "respondent_key", "respondent_name", "account_id")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("answers", sa.Column(name, sa.Text(), nullable=True), schema="scoring")
    # The answers API lists a tenant's answers of one kind newest first (a keyset cursor).
    op.create_index(
        "ix_answers_tenant_kind_answered",
        "answers",
        ["tenant", "kind", sa.text("answered_at DESC"), sa.text("event_id DESC")],
        unique=False,
        schema="scoring",
    )


def downgrade() -> None:
    op.drop_index("ix_answers_tenant_kind_answered", table_name="answers", schema="scoring")
    for name in reversed(COLUMNS):
        op.drop_column("answers", name, schema="scoring")
