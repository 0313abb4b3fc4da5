"""The staff page: log in, the call-back queue (live), a task and its forms, one per action.

Each action is POST, redirect, GET; the work itself is `tasks.queue`'s, as for the JSON API.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from anbefal.common.auth import Principal, issue_token
from anbefal.common.deps import SessionDep
from anbefal.common.errors import ServiceError
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.models import Task
from anbefal.notify.schemas import CompleteIn, NoteIn, ReassignIn, ReopenIn
from anbefal.notify.staff import service as staff
from anbefal.notify.state import NotifyState
from anbefal.notify.tasks import queue
from anbefal.notify.tasks.lifecycle import LEADS, Outcome, is_overdue
from anbefal.notify.ui.pages import (
    COOKIE,
    LOCALE_COOKIE,
    SESSION_HOURS,
    logged_in,
    render,
    to_login,
    words,
)

router = APIRouter(include_in_schema=False)


def _principal(request: Request, state: NotifyState) -> Principal | None:
    return logged_in(request, state.settings.jwt_secret.get_secret_value())


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/login")
async def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html", principal=None)


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    state: NotifyStateDep,
    tenant: Annotated[str, Form()],
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    user = await staff.authenticate(session, tenant.strip(), email, password)
    if user is None:
        error = words(request).get("bad_login")
        return render(
            request, "login.html", 401, principal=None, error=error, tenant=tenant, email=email
        )
    token = issue_token(
        state.settings.jwt_secret.get_secret_value(),
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
    response = to_login()
    response.delete_cookie(COOKIE)
    return response


Views = Literal["mine", "team"]


def _queue_context(principal: Principal, view: Views) -> dict[str, Any] | None:
    """None when the principal may not see `view` (the team queue is for directors)."""
    if view == "team" and principal.role not in LEADS:
        return None
    return {"view": view, "can_lead": principal.role in LEADS}


async def _queue_rows(session: SessionDep, principal: Principal, view: Views) -> list[Any]:
    mine = principal.sub if view == "mine" else None
    now = datetime.now(UTC)
    return [_task_view(t, now) for t in await queue.waiting(session, principal.tenant, mine=mine)]


@router.get("/queue")
async def queue_page(
    request: Request, session: SessionDep, state: NotifyStateDep, view: Views = "mine"
) -> Response:
    principal = _principal(request, state)
    if principal is None:
        return to_login()
    context = _queue_context(principal, view)
    if context is None:
        error = words(request)["team_forbidden"]
        context = {"view": "mine", "can_lead": False}
        return render(
            request, "queue.html", 403, principal=principal, tasks=[], error=error, **context
        )
    tasks = await _queue_rows(session, principal, view)
    return render(
        request,
        "queue.html",
        principal=principal,
        tasks=tasks,
        poll_ms=int(state.settings.ui_poll_s * 1000),
        **context,
    )


@router.get("/queue/rows")
async def queue_rows(
    request: Request, session: SessionDep, state: NotifyStateDep, view: Views = "mine"
) -> Response:
    """The queue's rows alone, for the page's live update: it polls this and swaps them in, so
    a task claimed by someone else leaves every other agent's queue without a reload."""
    principal = _principal(request, state)
    if principal is None:
        return Response(status_code=401)
    context = _queue_context(principal, view)
    if context is None:
        return Response(status_code=403)
    tasks = await _queue_rows(session, principal, view)
    return render(request, "_queue_rows.html", principal=principal, tasks=tasks, **context)


def _task_view(task: Task, now: datetime) -> dict[str, Any]:
    return {
        "id": task.id,
        "type": task.type,
        "due_at": task.due_at,
        "overdue": is_overdue(task.status, task.due_at, now),
        "attached": task.attached,
        "score": task.score,
        "comment": task.comment,
        "answered_at": task.answered_at,
        "respondent": task.respondent,
        "status": task.status,
        "claimed_by": task.claimed_by,
        "assignee": task.assignee,
        "outcome": task.outcome,
        "escalated_at": task.escalated_at,
    }


async def _task_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    task_id: uuid.UUID,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The task page, or for an id not in the principal's tenant the queue page with 404."""
    try:
        task = await queue.get(session, principal.tenant, task_id)
    except ServiceError as exc:
        return render(
            request, "queue.html", exc.status, principal=principal, tasks=[], error=exc.message,
            view="mine", can_lead=principal.role in LEADS,
        )  # fmt: skip
    now = datetime.now(UTC)
    view = _task_view(task, now)
    view["notes"] = await queue.notes(session, task)
    history = [_task_view(t, now) for t in await queue.history(session, task)]
    return render(
        request,
        "task.html",
        status,
        principal=principal,
        task=view,
        history=history,
        can_lead=principal.role in LEADS,
        error=error,
        outcomes=get_args(Outcome),
    )


@router.get("/tasks/{task_id}")
async def task_page(
    request: Request, task_id: uuid.UUID, session: SessionDep, state: NotifyStateDep
) -> Response:
    principal = _principal(request, state)
    if principal is None:
        return to_login()
    return await _task_page(request, session, principal, task_id)


async def _act(
    request: Request,
    session: SessionDep,
    state: NotifyStateDep,
    task_id: uuid.UUID,
    change: Callable[[Principal], Awaitable[object]],
) -> Response:
    """Run one queue operation for the logged-in person and go back to the task (POST, redirect,
    GET). A refusal or an invalid form shows the task page again with the reason."""
    principal = _principal(request, state)
    if principal is None:
        return to_login()
    try:
        await change(principal)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"])
        return await _task_page(request, session, principal, task_id, message, 422)
    except ServiceError as exc:
        return await _task_page(request, session, principal, task_id, exc.message, exc.status)
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@router.post("/tasks/{task_id}/claim")
async def claim(
    request: Request, task_id: uuid.UUID, session: SessionDep, state: NotifyStateDep
) -> Response:
    async def change(who: Principal) -> object:
        return await queue.claim(session, who.tenant, task_id, who)

    return await _act(request, session, state, task_id, change)


@router.post("/tasks/{task_id}/complete")
async def complete(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    state: NotifyStateDep,
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    async def change(who: Principal) -> object:
        body = CompleteIn.model_validate({"outcome": outcome, "note": note})
        return await queue.complete(session, who.tenant, task_id, who, body.outcome, body.note)

    return await _act(request, session, state, task_id, change)


@router.post("/tasks/{task_id}/reassign")
async def reassign(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    state: NotifyStateDep,
    assignee: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    async def change(who: Principal) -> object:
        body = ReassignIn.model_validate({"assignee": assignee, "note": note or None})
        return await queue.reassign(
            session, who.tenant, task_id, who, str(body.assignee), body.note
        )

    return await _act(request, session, state, task_id, change)


@router.post("/tasks/{task_id}/reopen")
async def reopen(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    state: NotifyStateDep,
    note: Annotated[str, Form()] = "",
) -> Response:
    async def change(who: Principal) -> object:
        body = ReopenIn.model_validate({"note": note})
        return await queue.reopen(session, who.tenant, task_id, who, body.note)

    return await _act(request, session, state, task_id, change)


@router.post("/tasks/{task_id}/notes")
async def add_note(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    state: NotifyStateDep,
    body: Annotated[str, Form()] = "",
) -> Response:
    async def change(who: Principal) -> object:
        note = NoteIn.model_validate({"body": body})
        return await queue.add_note(session, who.tenant, task_id, who, note.body)

    return await _act(request, session, state, task_id, change)
