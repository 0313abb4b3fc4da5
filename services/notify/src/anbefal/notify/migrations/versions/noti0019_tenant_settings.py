"""tenant settings: notify keeps each tenant's whole record, for partial updates

Revision: noti0019
Parent: noti0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "noti0019"
down_revision: str | None = "noti0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant_settings",
        sa.Column("tenant", sa.String(length=63), nullable=False),
        sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_tenant_settings")),
        schema="notify",
    )
    # The records consumed before this revision: the newest settings each tenant's audit trail
    # recorded (it holds every setting; the chat webhook only as set or not, and no longer one).
    op.execute(
        "INSERT INTO notify.tenant_settings (tenant, settings, updated_at)"
        " SELECT DISTINCT ON (tenant) tenant,"
        " ((detail -> 'settings') - 'chat_webhook_url')"
        " || jsonb_build_object('tenant', tenant, 'updated_at', at), at"
        " FROM notify.audit_entries"
        " WHERE kind = 'tenant' AND target = 'settings' AND detail ? 'settings'"
        " ORDER BY tenant, at DESC, event_id DESC"
    )


def downgrade() -> None:
    op.drop_table("tenant_settings", schema="notify")
