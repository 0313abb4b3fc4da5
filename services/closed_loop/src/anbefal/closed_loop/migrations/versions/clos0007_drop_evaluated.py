"""drop the inbox of evaluated answer versions: the answers table is the inbox

The answers table keeps each answer's latest version and its upsert refuses a version not
newer than the one stored, so a redelivered version already decides nothing without it; the
inbox was one more insert, index entry and WAL record per answer in the burst. (Rows of
answers decided before clos0003 stored them are not in the answers table; there are none
outside development.)

Revision: clos0007
Parent: clos0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "clos0007"
down_revision: str | None = "clos0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("evaluated", schema="closed_loop")


def downgrade() -> None:
    op.create_table(
        "evaluated",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column(
            "evaluated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("event_id", "version", name=op.f("pk_evaluated")),
        schema="closed_loop",
    )
    # The versions stored are the ones evaluated: the old code's inbox starts from them.
    op.execute(
        "INSERT INTO closed_loop.evaluated (event_id, version, tenant) "
        "SELECT event_id, version, tenant FROM closed_loop.answers"
    )
