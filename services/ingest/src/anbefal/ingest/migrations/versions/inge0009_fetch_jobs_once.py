"""a thin webhook's answer is queued once: a redelivery finds its job; the job keeps the delivery

Revision: inge0009
Parent: inge0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "inge0009"
down_revision: str | None = "inge0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "status IN ('pending', 'done')"


def upgrade() -> None:
    op.add_column("fetch_jobs", sa.Column("body", sa.LargeBinary(), nullable=True), schema="ingest")
    op.add_column(
        "fetch_jobs",
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="ingest",
    )
    # Redeliveries queued before this revision: one job per answer stays, a done one first.
    op.execute(
        "DELETE FROM ingest.fetch_jobs j USING ingest.fetch_jobs k"
        " WHERE j.tenant = k.tenant AND j.source = k.source AND j.survey_id = k.survey_id"
        " AND j.response_id = k.response_id"
        " AND j.status IN ('pending', 'done') AND k.status IN ('pending', 'done')"
        " AND ((k.status = 'done' AND j.status = 'pending')"
        " OR (k.status = j.status AND k.id < j.id))"
    )
    op.create_index(
        "uq_ingest_fetch_jobs_answer",
        "fetch_jobs",
        ["tenant", "source", "survey_id", "response_id"],
        unique=True,
        schema="ingest",
        postgresql_where=sa.text(_LIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_ingest_fetch_jobs_answer", "fetch_jobs", schema="ingest")
    op.drop_column("fetch_jobs", "headers", schema="ingest")
    op.drop_column("fetch_jobs", "body", schema="ingest")
