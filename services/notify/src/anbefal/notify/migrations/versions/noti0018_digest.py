"""the digest: emails with an HTML part and inline images; tenants' time zone and digest settings

Revision: noti0018
Parent: noti0017
Created: 2026-12-05 01:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "noti0018"
down_revision: str | None = "noti0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tenants = [
        sa.Column("time_zone", sa.String(64), server_default="Europe/Copenhagen", nullable=False),
        sa.Column(
            "digest_recipients",
            postgresql.JSONB(),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("digest_every_days", sa.Integer(), server_default=sa.text("14"), nullable=False),
        sa.Column("digest_hour", sa.Integer(), server_default=sa.text("8"), nullable=False),
    ]
    for column in tenants:
        op.add_column("tenants", column, schema="notify")
    op.add_column("emails", sa.Column("html", sa.Text(), nullable=True), schema="notify")
    op.add_column("emails", sa.Column("images", postgresql.JSONB(), nullable=True), schema="notify")


def downgrade() -> None:
    for name in ("digest_hour", "digest_every_days", "digest_recipients", "time_zone"):
        op.drop_column("tenants", name, schema="notify")
    op.drop_column("emails", "images", schema="notify")
    op.drop_column("emails", "html", schema="notify")
