"""The admin API for staff logins: `GET /v1/tenants/{t}/users`, and `PATCH .../users/{email}` to
change a user's role or team scope or to deactivate them (role admin). Every change ends the
user's sessions at once and is audited. `anbefal user add` still creates the first admin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from anbefal.common.audit import actor_of
from anbefal.common.auth import Principal, Role, Scope, parse_scope
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.common.errors import NotFound
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.models import StaffUser
from anbefal.notify.staff import links, repository, service

Admin = Annotated[Principal, allow(Role.ADMIN)]
LoginRole = Literal["agent", "director", "admin", "viewer"]
Email = Annotated[str, Path(max_length=320)]

router = APIRouter(tags=["staff users"])


class UserOut(BaseModel):
    email: str
    name: str
    role: str
    scope: dict[str, str] = Field(description="a team lead's segment values; {}: whole tenant")
    active: bool
    locale: str

    @classmethod
    def of(cls, user: StaffUser) -> UserOut:
        return cls(
            email=user.email, name=user.name, role=user.role, scope=dict(user.scope),
            active=user.active, locale=user.locale,
        )  # fmt: skip


class UserList(BaseModel):
    users: list[UserOut]


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: LoginRole | None = None
    scope: str | None = Field(
        default=None,
        description="`team=Alpha` or `team=Alpha,country=DK`; an empty string: the whole tenant",
    )
    active: Literal[False] | None = Field(
        default=None,
        description="false deactivates the user (a deactivated user comes back with a new "
        "password, e.g. `anbefal user add`)",
    )

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str | None) -> str | None:
        if value is not None:
            parse_scope(value)  # a ValueError names the part that is wrong
        return value

    def parsed_scope(self) -> Scope | None:
        return None if self.scope is None else parse_scope(self.scope)


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field(default="", max_length=200)
    role: LoginRole = "agent"
    scope: str = Field(default="", description="a team lead's `team=Alpha`; empty: whole tenant")
    locale: Literal["da", "en"] = "en"

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        parse_scope(value)  # a ValueError names the part that is wrong
        return value


class LinkSent(BaseModel):
    email: str
    expires_at: datetime = Field(description="until when the one-time link works")


@router.post(
    "/v1/tenants/{tenant}/users",
    status_code=202,
    summary="Invite someone by email (admin)",
    description="Mails them a one-time link to choose a password (`ANBEFAL_STAFF_LINK_HOURS`, "
    "72 h; only the newest link works); the login is made, with this role and scope, when the "
    "link is used. 409 when the address has an active login already (send a password reset). "
    "Audited (`user.invited`).",
)
async def invite_user(
    tenant: TenantPath,
    body: InviteIn,
    principal: Admin,
    session: SessionDep,
    state: NotifyStateDep,
) -> LinkSent:
    sent = await links.invite(
        session, state.settings, tenant=tenant, email_address=body.email, name=body.name,
        role=body.role, scope=parse_scope(body.scope), locale=body.locale,
        actor=actor_of(principal),
    )  # fmt: skip
    return LinkSent(email=sent.email, expires_at=sent.expires_at)


@router.post(
    "/v1/tenants/{tenant}/users/{email}/password-reset",
    status_code=202,
    summary="Mail a login a one-time link to choose a new password (admin)",
    description="As an invitation's link; using it also makes a deactivated login active "
    "again. 404 for an unknown user. Audited (`user.password_reset_sent`).",
)
async def reset_password(
    tenant: TenantPath, email: Email, principal: Admin, session: SessionDep, state: NotifyStateDep
) -> LinkSent:
    sent = await links.reset(
        session, state.settings, tenant=tenant, email_address=email, actor=actor_of(principal)
    )
    return LinkSent(email=sent.email, expires_at=sent.expires_at)


@router.get("/v1/tenants/{tenant}/users", summary="The tenant's staff logins (admin)")
async def list_users(tenant: TenantPath, principal: Admin, session: SessionDep) -> UserList:
    return UserList(users=[UserOut.of(u) for u in await repository.users(session, tenant)])


@router.patch(
    "/v1/tenants/{tenant}/users/{email}",
    summary="Change a staff login's role or team scope, or deactivate it (admin)",
    description="The user's sessions end at once: an open page loses access with its next "
    "request. Audited (`user.changed`, `user.deactivated`). 404 for an unknown user.",
)
async def patch_user(
    tenant: TenantPath, email: Email, body: UserPatch, principal: Admin, session: SessionDep
) -> UserOut:
    actor = actor_of(principal)
    address = email.strip().lower()
    if body.role is not None or body.scope is not None:
        changed = await service.change_role(
            session, tenant=tenant, email=address, role=body.role,
            scope=body.parsed_scope(), actor=actor,
        )  # fmt: skip
        if changed is None:
            raise NotFound(f"no user {address}")
    if body.active is False and not await service.deactivate_user(
        session, tenant=tenant, email=address, actor=actor
    ):
        raise NotFound(f"no user {address}")
    user = await repository.user(session, tenant, address)
    if user is None:
        raise NotFound(f"no user {address}")
    return UserOut.of(user)
