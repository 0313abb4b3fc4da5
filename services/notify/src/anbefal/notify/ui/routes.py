"""The staff page: server-rendered, a form per action, the token in an HttpOnly cookie.

SameSite=Lax keeps the cookie off cross-site POSTs, which is what protects these forms from
cross-site request forgery.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from anbefal.common.auth import InvalidToken, Principal, issue_token, verify_token
from anbefal.common.deps import RuntimeDep, SessionDep
from anbefal.common.errors import ServiceError
from anbefal.notify import queue, repository, staff, unsubscribe
from anbefal.notify.schemas import CompleteIn
from anbefal.notify.tasks import Outcome
from anbefal.notify.ui.i18n import texts

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
COOKIE = "anbefal_session"
LOCALE_COOKIE = "anbefal_locale"
SESSION_HOURS = 12


def _principal(request: Request, runtime: RuntimeDep) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return verify_token(runtime.settings.jwt_secret.get_secret_value(), token)
    except InvalidToken:
        return None


def _render(
    request: Request, name: str, status: int = 200, locale: str | None = None, **context: Any
) -> HTMLResponse:
    locale = locale or request.cookies.get(LOCALE_COOKIE, "en")
    return templates.TemplateResponse(
        request, name, {"t": texts(locale), "lang": locale, **context}, status_code=status
    )


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/login")
async def login_form(request: Request) -> HTMLResponse:
    return _render(request, "login.html", principal=None)


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    tenant: Annotated[str, Form()],
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    user = await staff.authenticate(session, tenant.strip(), email, password)
    if user is None:
        error = texts(request.cookies.get(LOCALE_COOKIE)).get("bad_login")
        return _render(
            request, "login.html", 401, principal=None, error=error, tenant=tenant, email=email
        )
    token = issue_token(
        runtime.settings.jwt_secret.get_secret_value(),
        tenant=user.tenant,
        role=user.role,
        sub=user.email,
        ttl_s=SESSION_HOURS * 3600,
    )
    response = RedirectResponse("/queue", status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(
        COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="lax", secure=secure
    )
    response.set_cookie(LOCALE_COOKIE, user.locale, samesite="lax", secure=secure)
    return response


@router.post("/logout")
async def logout() -> RedirectResponse:
    response = _to_login()
    response.delete_cookie(COOKIE)
    return response


@router.get("/queue")
async def queue_page(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    principal = _principal(request, runtime)
    if principal is None:
        return _to_login()
    now = datetime.now(UTC)
    tasks = [
        t
        for t in await repository.list_tasks(session, principal.tenant, None, 200)
        if t.status != "done"
    ]
    rows = [{**_task_view(t, now), "id": t.id} for t in tasks]
    return _render(request, "queue.html", principal=principal, tasks=rows)


def _task_view(task: Any, now: datetime) -> dict[str, Any]:
    return {
        "id": task.id,
        "due_at": task.due_at,
        "overdue": task.status != "done" and task.due_at is not None and task.due_at < now,
        "score": task.score,
        "comment": task.comment,
        "respondent": task.respondent,
        "status": task.status,
        "claimed_by": task.claimed_by,
        "assignee": task.assignee,
        "outcome": task.outcome,
    }


async def _task_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    task_id: uuid.UUID,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    task = await queue.get(session, principal.tenant, task_id)
    view = _task_view(task, datetime.now(UTC))
    view["notes"] = await repository.notes(session, task.id)
    return _render(
        request,
        "task.html",
        status,
        principal=principal,
        task=view,
        error=error,
        outcomes=get_args(Outcome),
    )


@router.get("/tasks/{task_id}")
async def task_page(
    request: Request, task_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep
) -> Response:
    principal = _principal(request, runtime)
    if principal is None:
        return _to_login()
    try:
        return await _task_page(request, session, principal, task_id)
    except ServiceError as exc:
        return _render(
            request, "queue.html", exc.status, principal=principal, tasks=[], error=exc.message
        )


@router.post("/tasks/{task_id}/claim")
async def claim(
    request: Request, task_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep
) -> Response:
    principal = _principal(request, runtime)
    if principal is None:
        return _to_login()
    try:
        await queue.claim(session, principal.tenant, task_id, principal)
    except ServiceError as exc:
        return await _task_page(request, session, principal, task_id, exc.message, exc.status)
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@router.post("/tasks/{task_id}/complete")
async def complete(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    outcome: Annotated[str, Form()],
    note: Annotated[str, Form()],
) -> Response:
    principal = _principal(request, runtime)
    if principal is None:
        return _to_login()
    try:
        body = CompleteIn.model_validate({"outcome": outcome, "note": note})
        await queue.complete(session, principal.tenant, task_id, principal, body.outcome, body.note)
    except ValidationError as exc:
        return await _task_page(
            request, session, principal, task_id, str(exc.errors()[0]["msg"]), 422
        )
    except ServiceError as exc:
        return await _task_page(request, session, principal, task_id, exc.message, exc.status)
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


async def _unsubscribe_page(
    request: Request, token: str, session: SessionDep, runtime: RuntimeDep, *, confirm: bool
) -> HTMLResponse:
    """The public page behind every respondent mail's unsubscribe link (no login: the signed
    token is the permission). Its POST is also the RFC 8058 one-click target."""
    subscriber = unsubscribe.read(runtime.settings.jwt_secret.get_secret_value(), token)
    if subscriber is None:
        error = texts(request.cookies.get(LOCALE_COOKIE)).get("unsubscribe_bad")
        return _render(request, "unsubscribe.html", 404, principal=None, error=error)
    tenant = (await repository.tenants(session, {subscriber.tenant})).get(subscriber.tenant)
    if confirm:
        await repository.suppress(session, subscriber.tenant, subscriber.email, "unsubscribed")
    return _render(
        request,
        "unsubscribe.html",
        locale=subscriber.locale,
        principal=None,
        done=confirm,
        email=subscriber.email,
        tenant_name=tenant.display_name if tenant else subscriber.tenant,
    )


@router.get("/unsubscribe/{token}")
async def unsubscribe_form(
    request: Request, token: str, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    return await _unsubscribe_page(request, token, session, runtime, confirm=False)


@router.post("/unsubscribe/{token}")
async def unsubscribe_confirm(
    request: Request, token: str, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    return await _unsubscribe_page(request, token, session, runtime, confirm=True)
