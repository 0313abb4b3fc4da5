"""answers' (tenant, kind, day) index carries score and segments: a read filtered by several
segment values (or a team lead's scope) counts a window without touching the table

Revision: scor0008
Parent: scor0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "scor0008"
down_revision: str | None = "scor0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_answers_tenant_kind_day", table_name="answers", schema="scoring")
    op.create_index(
        "ix_answers_tenant_kind_day",
        "answers",
        ["tenant", "kind", "day"],
        unique=False,
        schema="scoring",
        postgresql_include=["score", "segments"],
    )


def downgrade() -> None:
    op.drop_index("ix_answers_tenant_kind_day", table_name="answers", schema="scoring")
    op.create_index(
        "ix_answers_tenant_kind_day", "answers", ["tenant", "kind", "day"], schema="scoring"
    )
