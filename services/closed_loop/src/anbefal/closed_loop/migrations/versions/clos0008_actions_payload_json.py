"""an action's payload is json, not jsonb: kept and read back as the text written

Each batch reads back every earlier action of its respondents, payload as text; rebuilding
that text from jsonb's binary form cost PostgreSQL about 8 µs per row (20,000 rows: 166-224 ms
from jsonb, 32-38 ms from json), more than the rest of the read.

Revision: clos0008
Parent: clos0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "clos0008"
down_revision: str | None = "clos0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE closed_loop.actions ALTER COLUMN payload TYPE json USING payload::json")


def downgrade() -> None:
    op.execute(
        "ALTER TABLE closed_loop.actions ALTER COLUMN payload TYPE jsonb USING payload::jsonb"
    )
