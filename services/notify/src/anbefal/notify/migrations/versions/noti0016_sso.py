"""single sign-on: one OpenID Connect provider per tenant

Revision: noti0016
Parent: noti0015
Created: 2026-12-05 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "noti0016"
down_revision: str | None = "noti0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sso_providers",
        sa.Column("tenant", sa.String(length=63), primary_key=True),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=500), nullable=False),
        sa.Column("client_secret_sealed", sa.Text(), nullable=False),
        sa.Column("domains", postgresql.ARRAY(sa.String(length=253)), nullable=False),
        sa.Column("group_claim", sa.String(length=100), nullable=False),
        sa.Column("roles", postgresql.JSONB(), nullable=False),
        sa.Column("default_role", sa.String(length=20), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        schema="notify",
    )
    # "Which tenant signs in alice@acme.example?" is asked at every login.
    op.create_index(
        "ix_sso_providers_domains",
        "sso_providers",
        ["domains"],
        schema="notify",
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_table("sso_providers", schema="notify")
