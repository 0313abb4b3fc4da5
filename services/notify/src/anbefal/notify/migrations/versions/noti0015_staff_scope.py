"""a team lead's scope on staff users and their sessions

Revision: noti0015
Parent: noti0014
Created: 2026-12-05 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "noti0015"
down_revision: str | None = "noti0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("staff_users", "staff_sessions"):
        op.add_column(
            table,
            sa.Column(
                "scope",
                postgresql.JSONB(astext_type=sa.Text()),
                server_default=sa.text("'{}'::jsonb"),
                nullable=False,
            ),
            schema="notify",
        )


def downgrade() -> None:
    for table in ("staff_users", "staff_sessions"):
        op.drop_column(table, "scope", schema="notify")
