"""The erasure API: start one, read its receipt (admin). The person's export part is the shared
route (`common/app/privacy.py`) over `export.collect`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, model_validator

from anbefal.common import audit
from anbefal.common.app.privacy import export_router
from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.common.erasure import Subject
from anbefal.common.errors import NotFound
from anbefal.common.services import INGEST
from anbefal.ingest.dependencies import IngestStateDep
from anbefal.ingest.emails import Email
from anbefal.ingest.models import OUTBOX
from anbefal.ingest.privacy import export, requests

router = APIRouter(tags=["privacy"])
router.include_router(export_router(INGEST.name, export.collect, OUTBOX))
Admin = Annotated[Principal, allow(Role.ADMIN)]


class ErasureIn(BaseModel):
    respondent_id: str | None = Field(default=None, min_length=1, max_length=200)
    email: Email | None = None

    @model_validator(mode="after")
    def _names_someone(self) -> ErasureIn:
        if not (self.respondent_id or self.email):
            raise ValueError("name the person: respondent_id, email or both")
        return self


class ServiceReport(BaseModel):
    finished_at: datetime
    rows: int


class ReceiptOut(BaseModel):
    id: uuid.UUID
    tenant: str
    named_by: str
    requested_by: str
    requested_at: datetime
    complete: bool
    completed_at: datetime | None
    # Every service that holds personal data; null until it reported.
    services: dict[str, ServiceReport | None]


def _out(receipt: requests.Receipt) -> ReceiptOut:
    e = receipt.erasure
    return ReceiptOut(
        id=e.id,
        tenant=e.tenant,
        named_by=e.named_by,
        requested_by=e.requested_by,
        requested_at=e.requested_at,
        complete=receipt.complete,
        completed_at=receipt.completed_at,
        services={
            name: (
                ServiceReport(finished_at=r.finished_at, rows=r.rows)
                if (r := receipt.reports.get(name))
                else None
            )
            for name in requests.REPORTING
        },
    )


@router.post(
    "/v1/tenants/{tenant}/erasures",
    status_code=202,
    summary="Erase one person's data in every service (admin)",
)
async def start_erasure(
    tenant: TenantPath,
    body: ErasureIn,
    session: SessionDep,
    state: IngestStateDep,
    principal: Admin,
    response: Response,
) -> ReceiptOut:
    subject = Subject(respondent_id=body.respondent_id, email=body.email)
    receipt = await requests.request_erasure(
        session, state.settings.keyring(), tenant, subject, principal.sub, datetime.now(UTC)
    )
    await audit.record(
        session,
        OUTBOX,
        tenant=tenant,
        actor=principal,
        action="erasure.requested",
        target=f"erasure:{receipt.erasure.id}",
        detail={"named_by": receipt.erasure.named_by},
    )
    response.headers["Location"] = f"/v1/tenants/{tenant}/erasures/{receipt.erasure.id}"
    return _out(receipt)


@router.get("/v1/tenants/{tenant}/erasures/{erasure_id}", summary="An erasure's receipt (admin)")
async def get_erasure(
    tenant: TenantPath, erasure_id: uuid.UUID, session: SessionDep, principal: Admin
) -> ReceiptOut:
    receipt = await requests.receipt(session, tenant, erasure_id)
    if receipt is None:
        raise NotFound("no such erasure")
    return _out(receipt)
