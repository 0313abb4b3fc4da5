"""`POST /v1/tenants/{t}/digest`: send the digest now, to its recipients or to given addresses,
or show it without sending (`dry_run`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, EmailStr, Field

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.common.errors import ServiceError, Unprocessable
from anbefal.notify.dashboard.client import Unavailable
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.digest import mail, service
from anbefal.notify.email import repository as email_repository
from anbefal.notify.models import Tenant

Sender = Annotated[Principal, allow(Role.ADMIN, Role.DIRECTOR)]
router = APIRouter(tags=["digest"])


class DigestIn(BaseModel):
    to: list[EmailStr] | None = Field(
        default=None,
        max_length=50,
        description="Send to these addresses now (a one-off, e.g. to try it); none: the "
        "tenant's digest recipients, once per period",
    )
    dry_run: bool = Field(default=False, description="Show the digest; send nothing")


class DigestPreview(BaseModel):
    recipients: list[str]
    subject: str
    text: str = Field(description="The plain-text part")
    html: str = Field(description="The HTML part; its images are referenced as cid:<id>")
    images: list[str] = Field(description="The content ids of the inline chart images")


class DigestOut(BaseModel):
    period_start: str = Field(description="The period the digest belongs to (its key)")
    covers_from: str
    covers_to: str
    queued: int = Field(description="Mails written to the outbox now (0: already sent)")
    previews: list[DigestPreview] = Field(default_factory=list)


@router.post(
    "/v1/tenants/{tenant}/digest",
    response_model=DigestOut,
    summary="Send the leadership digest now, or show it (admin, director)",
    description="Without `to`, the tenant's digest recipients get this period's digest, once: "
    "a second call, or the scheduled send, writes nothing more. With `to`, those addresses get "
    "it now, each call again. `dry_run` sends nothing and returns what would be sent. A "
    "tenant without digest recipients and without `to`: 422.",
)
async def send_digest(
    tenant: TenantPath,
    body: DigestIn,
    principal: Sender,
    session: SessionDep,
    state: NotifyStateDep,
) -> DigestOut:
    row = await session.get(Tenant, tenant)
    recipients = (
        [str(a) for a in body.to] if body.to else list(row.digest_recipients if row else [])
    )
    if row is None or not recipients:
        raise Unprocessable(
            "the tenant has no digest recipients: set digest_recipients in its settings, or "
            "give `to`",
            code="no_digest_recipients",
            details=[{"field": "to", "message": "no recipients", "type": "missing"}],
        )
    now = datetime.now(UTC)
    when = service.current_period(row, now)
    keys = {r: uuid.uuid4() for r in recipients} if body.to else None
    try:
        prepared = await service.prepare(
            session, state.settings, row, when, recipients, now, keys=keys
        )
    except Unavailable:
        raise ServiceError(
            503, "scoring_unavailable", "the figures cannot be read just now; try again",
            headers={"Retry-After": "30"},
        ) from None  # fmt: skip
    out = DigestOut(
        period_start=str(when.start), covers_from=str(when.covers_from),
        covers_to=str(when.covers_to), queued=0,
    )  # fmt: skip
    if body.dry_run:
        out.previews = [
            DigestPreview(
                recipients=group,
                subject=d.subject,
                text=mail.text(d),
                html=mail.html(d),
                images=sorted(d.charts),
            )  # fmt: skip
            for _, group, d in prepared.digests
        ]
        return out
    out.queued = await email_repository.insert_emails(session, prepared.rows)
    return out
