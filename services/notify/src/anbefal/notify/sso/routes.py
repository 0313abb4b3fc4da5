"""Single sign-on: the admin API that configures a tenant's provider, and the two pages of a
sign-in (start, callback).

A sign-in: the login page's SSO form posts an email address; its domain names the tenant (one
tenant per domain); we redirect to the tenant's provider with a fresh state, nonce and PKCE
verifier, kept sealed in a short-lived cookie; the provider sends the browser back with a code;
we check the state, exchange the code (with the verifier and the client secret), verify the ID
token, and start the same server-side session a password login starts.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import audit
from anbefal.common.auth import Principal, Role
from anbefal.common.crypto import Undecryptable
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.common.errors import NotFound, Unprocessable
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.models import OUTBOX
from anbefal.notify.settings import NotifySettings
from anbefal.notify.sso import service
from anbefal.notify.sso.models import SsoProvider
from anbefal.notify.sso.oidc import Attempt, ProviderError, Refused, check_issuer, provider_http
from anbefal.notify.sso.words import sso_words
from anbefal.notify.staff import sessions
from anbefal.notify.ui import guard
from anbefal.notify.ui.login import login_page
from anbefal.notify.ui.pages import LOCALE_COOKIE

log = logging.getLogger(__name__)
Admin = Annotated[Principal, allow(Role.ADMIN)]
ATTEMPT_COOKIE = "anbefal_sso"
ATTEMPT_S = 600
CALLBACK = "/login/sso/callback"

router = APIRouter(tags=["single sign-on"])


class SsoIn(BaseModel):
    issuer: str = Field(max_length=500, description="The provider's issuer URL (https)")
    client_id: str = Field(min_length=1, max_length=500)
    client_secret: SecretStr = Field(description="Stored sealed; never returned")
    domains: list[str] = Field(
        min_length=1, max_length=50, description="Email domains that sign in to this tenant"
    )
    group_claim: str = Field(default="groups", min_length=1, max_length=100)
    roles: dict[str, str] = Field(
        default_factory=dict, description="A group claim value → a staff role"
    )
    default_role: str | None = Field(
        default=None, description="The role of a person in no mapped group (none: refused)"
    )


class SsoOut(BaseModel):
    configured: bool
    issuer: str | None = None
    client_id: str | None = None
    domains: list[str] = []
    group_claim: str | None = None
    roles: dict[str, str] = {}
    default_role: str | None = None
    redirect_uri: str = Field(description="Register this as the client's redirect URI")


def _redirect_uri(settings: NotifySettings) -> str:
    return settings.public_url.rstrip("/") + CALLBACK


def _out(found: SsoProvider | None, settings: NotifySettings) -> SsoOut:
    if found is None:
        return SsoOut(configured=False, redirect_uri=_redirect_uri(settings))
    return SsoOut(
        configured=True,
        issuer=found.issuer,
        client_id=found.client_id,
        domains=list(found.domains),
        group_claim=found.group_claim,
        roles={k: str(v) for k, v in found.roles.items()},
        default_role=found.default_role,
        redirect_uri=_redirect_uri(settings),
    )


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(
        f"{field}: {message}",
        code="invalid_sso",
        details=[{"field": field, "message": message, "type": "value"}],
    )


@router.get("/v1/tenants/{tenant}/sso", response_model=SsoOut, summary="The tenant's SSO setup")
async def get_sso(
    tenant: TenantPath, principal: Admin, session: SessionDep, state: NotifyStateDep
) -> SsoOut:
    return _out(await service.provider(session, tenant), state.settings)


@router.put(
    "/v1/tenants/{tenant}/sso",
    response_model=SsoOut,
    summary="Set the tenant's OpenID Connect provider (admin)",
    description="Staff whose email domain is listed sign in at the provider; their role comes "
    "from the group claim. The client secret is stored sealed and never returned. 422 names a "
    "wrong field; a domain another tenant signs in is refused (422).",
)
async def put_sso(
    tenant: TenantPath,
    body: SsoIn,
    principal: Admin,
    session: SessionDep,
    state: NotifyStateDep,
) -> SsoOut:
    settings = state.settings
    try:
        issuer = check_issuer(body.issuer, allow_http=settings.sso_allow_http_issuer)
    except ValueError as exc:
        raise _invalid("issuer", str(exc)) from None
    try:
        service.check_roles(body.roles, body.default_role)
    except ValueError as exc:
        raise _invalid("roles", str(exc)) from None
    domains = sorted({d.strip().lower().lstrip("@") for d in body.domains if d.strip()})
    if not domains or any("." not in d or "@" in d for d in domains):
        raise _invalid("domains", "list email domains such as acme.example")
    if taken := await service.domains_taken(session, tenant, domains):
        raise _invalid("domains", f"another organisation signs in {', '.join(taken)}")
    before = await service.provider(session, tenant)
    await service.save(
        session,
        {
            "tenant": tenant,
            "issuer": issuer,
            "client_id": body.client_id.strip(),
            "client_secret_sealed": settings.keyring().seal_text(
                body.client_secret.get_secret_value(), context=service.secret_context(tenant)
            ),
            "domains": domains,
            "group_claim": body.group_claim.strip(),
            "roles": body.roles,
            "default_role": body.default_role,
            "updated_by": principal.sub,
        },
    )
    await _audit(session, tenant, principal, before, {"issuer": issuer, "domains": domains})
    return _out(await service.provider(session, tenant), settings)


@router.delete(
    "/v1/tenants/{tenant}/sso", response_model=SsoOut, summary="Turn single sign-on off (admin)"
)
async def delete_sso(
    tenant: TenantPath, principal: Admin, session: SessionDep, state: NotifyStateDep
) -> SsoOut:
    before = await service.provider(session, tenant)
    if not await service.remove(session, tenant):
        raise NotFound("single sign-on is not set up for this tenant")
    await _audit(session, tenant, principal, before, None)
    return _out(None, state.settings)


async def _audit(
    session: AsyncSession,
    tenant: str,
    principal: Principal,
    before: SsoProvider | None,
    now: dict[str, object] | None,
) -> None:
    # Where and for whom, never the secret: only that it was set.
    was = {"issuer": before.issuer, "domains": list(before.domains)} if before else None
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=principal, action="tenant.changed",
        target="sso", detail={"sso": {"from": was, "to": now}, "secret_changed": now is not None},
    )  # fmt: skip


# --- the sign-in pages -------------------------------------------------------------------


def _refused(request: Request, state: NotifyStateDep, status: int, key: str, **kw: str) -> Response:
    text = sso_words(request.cookies.get(LOCALE_COOKIE))
    return login_page(request, state, status, text[key].format(**kw))


@router.post("/login/sso", include_in_schema=False)
async def start(
    request: Request,
    session: SessionDep,
    state: NotifyStateDep,
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    settings = state.settings
    try:
        guard.check_login_post(request, settings, csrf)
    except guard.Forged:
        return _refused(request, state, 403, "forged")
    domain = service.domain_of(email)
    found = await service.provider_for_domain(session, domain) if domain else None
    if found is None:
        return _refused(request, state, 404, "unknown_domain", domain=domain or email)
    attempt = Attempt.new()
    try:
        async with provider_http(allow_local=settings.sso_allow_http_issuer) as client:
            url = await state.sso.authorization_url(
                client,
                found.issuer,
                client_id=found.client_id,
                redirect_uri=_redirect_uri(settings),
                attempt=attempt,
                login_hint=email.strip(),
            )
    except ProviderError as exc:
        log.warning("sso provider of %s unreachable: %s", found.tenant, exc)
        return _refused(request, state, 502, "unreachable")
    sealed = settings.keyring().seal(
        json.dumps(
            {"tenant": found.tenant, "state": attempt.state, "nonce": attempt.nonce,
             "verifier": attempt.verifier}
        ).encode(),
        context=b"notify:sso-attempt",
    )  # fmt: skip
    response = RedirectResponse(url, status_code=303)
    # Lax: the provider's redirect back is a top-level GET, which carries it.
    response.set_cookie(
        ATTEMPT_COOKIE, sealed, max_age=ATTEMPT_S, path=CALLBACK, httponly=True,
        samesite="lax", secure=guard.secure(settings),
    )  # fmt: skip
    return response


@router.get(CALLBACK, include_in_schema=False)
async def callback(
    request: Request,
    session: SessionDep,
    state: NotifyStateDep,
    code: Annotated[str, Query(max_length=2000)] = "",
    returned_state: Annotated[str, Query(alias="state", max_length=200)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    settings = state.settings
    try:
        held = json.loads(
            settings.keyring().open(
                request.cookies.get(ATTEMPT_COOKIE, ""), context=b"notify:sso-attempt"
            )
        )
    except (Undecryptable, ValueError):
        held = None
    if not held or not returned_state or held["state"] != returned_state:
        return _refused(request, state, 400, "expired")
    if error or not code:
        return _refused(request, state, 401, "refused")
    found = await service.provider(session, held["tenant"])
    if found is None:
        return _refused(request, state, 400, "expired")
    attempt = Attempt(state=held["state"], nonce=held["nonce"], verifier=held["verifier"])
    try:
        async with provider_http(allow_local=settings.sso_allow_http_issuer) as client:
            claims = await state.sso.sign_in(
                client,
                found.issuer,
                client_id=found.client_id,
                client_secret=settings.keyring().open_text(
                    found.client_secret_sealed, context=service.secret_context(found.tenant)
                ),
                redirect_uri=_redirect_uri(settings),
                code=code,
                attempt=attempt,
            )
    except ProviderError as exc:
        log.warning("sso provider of %s unreachable: %s", found.tenant, exc)
        return _refused(request, state, 502, "unreachable")
    except Refused as exc:
        log.warning("sso sign-in to %s refused: %s", found.tenant, exc)
        return _refused(request, state, 401, "refused")
    who = service.person(claims, found)
    if who is None:
        return _refused(request, state, 403, "wrong_address")
    role = service.role_for(claims, found)
    if role is None:
        return _refused(request, state, 403, "no_role")
    locale = request.cookies.get(LOCALE_COOKIE) or "en"
    user = await service.staff_user(session, found.tenant, who, role, locale)
    if user is None:
        return _refused(request, state, 403, "deactivated")
    token = await sessions.start(session, user, hours=settings.staff_session_hours)
    # As after a password login: viewers work no tasks, their page is the dashboard.
    response = RedirectResponse("/dashboard" if role == "viewer" else "/queue", status_code=303)
    guard.set_session(response, token, settings)
    response.delete_cookie(ATTEMPT_COOKIE, path=CALLBACK)
    response.set_cookie(LOCALE_COOKIE, user.locale, samesite="lax", secure=guard.secure(settings))
    return response
