"""notes carry their outcome (not a code inside them); staff have a time zone

Revision: noti0023
Parent: noti0022
Created: 2026-12-05 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0023"
down_revision: str | None = "noti0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CODES = "reached|voicemail|no_answer|wrong_number|resolved"


def upgrade() -> None:
    op.add_column(
        "task_notes", sa.Column("outcome", sa.String(length=20), nullable=True), schema="notify"
    )
    # Notes written at completion began with the outcome's code ("[reached] ..."): move it out.
    op.execute(
        f"UPDATE notify.task_notes SET outcome = substring(body FROM '^\\[({_CODES})\\] '), "
        f"body = regexp_replace(body, '^\\[({_CODES})\\] ', '') WHERE body ~ '^\\[({_CODES})\\] '"
    )

    op.add_column(
        "staff_users", sa.Column("time_zone", sa.String(length=64), nullable=True), schema="notify"
    )


def downgrade() -> None:
    op.drop_column("staff_users", "time_zone", schema="notify")
    op.execute(
        "UPDATE notify.task_notes SET body = '[' || outcome || '] ' || body "
        "WHERE outcome IS NOT NULL"
    )
    op.drop_column("task_notes", "outcome", schema="notify")
