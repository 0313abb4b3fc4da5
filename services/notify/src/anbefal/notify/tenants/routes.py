"""`GET/PATCH /v1/tenants/{tenant}/settings`: the tenant's settings, changed in part (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.notify.tenants import service
from anbefal.notify.tenants.service import SettingsPatch

Admin = Annotated[Principal, allow(Role.ADMIN)]

router = APIRouter(tags=["tenant settings"])
PATH = "/v1/tenants/{tenant}/settings"


@router.get(PATH, summary="The tenant's settings (admin)")
async def get_settings(tenant: TenantPath, principal: Admin, session: SessionDep) -> dict[str, Any]:
    return service.shown(await service.get(session, tenant))


@router.patch(
    PATH,
    summary="Change some of the tenant's settings (admin)",
    description="Only the settings named change; null clears one that may be empty (a default "
    "director, the sender's name or address, the next escalation level). A tenant without "
    "settings is created with the defaults. 422 names each field that is not valid. The whole "
    "record is published on `anbefal.tenants.v1` and audited (`tenant.changed`, each setting "
    "from and to).",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SettingsPatch.model_json_schema()}},
        }
    },
)
async def patch_settings(
    tenant: TenantPath,
    principal: Admin,
    session: SessionDep,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    return service.shown(await service.patch(session, tenant, body, by=principal))
