"""the per-recipient daily mail cap's index

Revision: noti0010
Parent: noti0009
Created: 2026-12-04 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0010"
down_revision: str | None = "noti0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_emails_recipient_sent",
        "emails",
        [sa.text("lower(recipient)"), "sent_at"],
        schema="notify",
        postgresql_where=sa.text("status = 'sent' AND unsubscribe_url IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_emails_recipient_sent", table_name="emails", schema="notify")
