"""emails say which respondent they are to or about (erasure and export)

Revision: noti0011
Parent: noti0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0011"
down_revision: str | None = "noti0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "emails", sa.Column("respondent_key", sa.String(length=200), nullable=True), schema="notify"
    )


def downgrade() -> None:
    op.drop_column("emails", "respondent_key", schema="notify")
