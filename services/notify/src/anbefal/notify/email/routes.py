"""The email delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from anbefal.common.deps import SessionDep, TenantPath
from anbefal.notify.access import LogReader
from anbefal.notify.email import service
from anbefal.notify.schemas import EmailList, EmailOut

router = APIRouter(tags=["tasks"])
EmailId = Annotated[uuid.UUID, Path(description="Email id")]


@router.get("/v1/tenants/{tenant}/emails", response_model=EmailList, summary="Email delivery log")
async def list_emails(
    tenant: TenantPath,
    principal: LogReader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> EmailList:
    page = await service.log(session, tenant, limit, cursor)
    return EmailList(
        emails=[EmailOut.model_validate(e) for e in page.rows],
        next_cursor=page.next_cursor,
        total=page.total,
    )


@router.get("/v1/tenants/{tenant}/emails/{email_id}", response_model=EmailOut, summary="One email")
async def get_email(
    tenant: TenantPath, email_id: EmailId, principal: LogReader, session: SessionDep
) -> EmailOut:
    return EmailOut.model_validate(await service.get(session, tenant, email_id))
