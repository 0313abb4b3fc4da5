"""keyed hashes of an NPS answer's respondent, for erasure and export

Revision: scor0004
Parent: scor0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scor0004"
down_revision: str | None = "scor0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "answers",
        sa.Column("respondent_hash", sa.String(length=80), nullable=True),
        schema="scoring",
    )
    op.add_column(
        "answers", sa.Column("email_hash", sa.String(length=80), nullable=True), schema="scoring"
    )
    op.create_index(
        "ix_answers_respondent_hash",
        "answers",
        ["respondent_hash"],
        unique=False,
        schema="scoring",
        postgresql_where=sa.text("respondent_hash IS NOT NULL"),
    )
    op.create_index(
        "ix_answers_email_hash",
        "answers",
        ["email_hash"],
        unique=False,
        schema="scoring",
        postgresql_where=sa.text("email_hash IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_answers_email_hash", table_name="answers", schema="scoring")
    op.drop_index("ix_answers_respondent_hash", table_name="answers", schema="scoring")
    op.drop_column("answers", "email_hash", schema="scoring")
    op.drop_column("answers", "respondent_hash", schema="scoring")
