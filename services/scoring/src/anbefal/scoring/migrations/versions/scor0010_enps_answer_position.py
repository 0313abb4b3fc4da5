"""an eNPS answer's place in its block's changes, so the answers API shows its comment exactly
once the block's published figures include it

Revision: scor0010
Parent: scor0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scor0010"
down_revision: str | None = "scor0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "answers", sa.Column("enps_position", sa.BigInteger(), nullable=True), schema="scoring"
    )


def downgrade() -> None:
    op.drop_column("answers", "enps_position", schema="scoring")
