"""source secrets and vendor API tokens sealed at rest with ANBEFAL_DATA_KEYS

Revision: inge0007
Parent: inge0006
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from anbefal.common.crypto import Keyring
from anbefal.ingest.sources.sealing import seal_source_secret

revision: str = "inge0007"
down_revision: str | None = "inge0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("secret_sealed", sa.Text(), nullable=True), schema="ingest")
    op.add_column(
        "sources", sa.Column("api_token_sealed", sa.Text(), nullable=True), schema="ingest"
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT tenant, name, secret, api_token FROM ingest.sources")
    ).fetchall()
    if rows:
        spec = os.environ.get("ANBEFAL_DATA_KEYS")
        if not spec:
            raise RuntimeError(
                "ingest.sources holds secrets to encrypt: set ANBEFAL_DATA_KEYS (see "
                "`anbefal keys new`) and run the migration again"
            )
        keyring = Keyring.parse(spec)
        for tenant, name, secret, api_token in rows:
            bind.execute(
                sa.text(
                    "UPDATE ingest.sources SET secret_sealed = :secret, api_token_sealed = :token"
                    " WHERE tenant = :tenant AND name = :name"
                ),
                {
                    "tenant": tenant,
                    "name": name,
                    "secret": seal_source_secret(keyring, tenant, name, "secret", secret),
                    "token": None
                    if api_token is None
                    else seal_source_secret(keyring, tenant, name, "api_token", api_token),
                },
            )
    op.alter_column("sources", "secret_sealed", nullable=False, schema="ingest")
    op.drop_column("sources", "secret", schema="ingest")
    op.drop_column("sources", "api_token", schema="ingest")


def downgrade() -> None:
    raise NotImplementedError("sealed secrets are not written back in plain text")
