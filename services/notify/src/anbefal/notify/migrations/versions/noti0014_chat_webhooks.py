"""chat webhooks: set through notify's API and sealed, no longer a tenant setting

Revision: noti0014
Parent: noti0013
Created: 2026-12-04 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "noti0014"
down_revision: str | None = "noti0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_webhooks",
        sa.Column("tenant", sa.String(length=63), primary_key=True),
        sa.Column("url_sealed", sa.Text(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        schema="notify",
    )
    # The plaintext URLs go: set each tenant's webhook again through the API. Posts still
    # waiting carried a plaintext URL; they are given up on with the reason.
    op.execute(
        "UPDATE notify.chat_messages SET status = 'failed', last_error = 'written before chat "
        "webhook URLs were sealed: set the webhook again (PUT .../chat-webhook)' "
        "WHERE status = 'pending'"
    )
    op.execute("UPDATE notify.chat_messages SET url = ''")
    op.drop_column("tenants", "chat_webhook_url", schema="notify")


def downgrade() -> None:
    op.add_column(
        "tenants", sa.Column("chat_webhook_url", sa.Text(), nullable=True), schema="notify"
    )
    op.drop_table("chat_webhooks", schema="notify")
