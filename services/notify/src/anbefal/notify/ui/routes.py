"""The staff page: the call-back queue (live), a task and its forms, one per action.

Each action is POST, redirect, GET; the work itself is `tasks.queue`'s, as for the JSON API.
Every POST is checked by `ui/guard.py` (our origin, the session's form token).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from anbefal.common.auth import Principal
from anbefal.common.deps import SessionDep
from anbefal.common.errors import ServiceError
from anbefal.notify.access import CONTACT_READERS
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.models import Task
from anbefal.notify.reasons import repository as reason_codes
from anbefal.notify.schemas import CompleteIn, NoteIn, ReassignIn, ReopenIn
from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff import service as staff
from anbefal.notify.staff.sessions import Login
from anbefal.notify.tasks import context as call_context
from anbefal.notify.tasks import queue, reply
from anbefal.notify.tasks.lifecycle import LEADS, Outcome
from anbefal.notify.ui import guard
from anbefal.notify.ui.pages import LOCALE_COOKIE, form_error, refusal, render, to_login, words
from anbefal.notify.ui.views import task_view

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form()]


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


Views = Literal["mine", "team"]


def _queue_context(principal: Principal, view: Views) -> dict[str, Any] | None:
    """None when the principal may not see `view` (the team queue is for directors)."""
    if view == "team" and principal.role not in LEADS:
        return None
    return {"view": view, "can_lead": principal.role in LEADS}


async def _queue_rows(
    session: SessionDep,
    principal: Principal,
    view: Views,
    after: str | None,
    page_size: int,
) -> dict[str, Any]:
    """One page of the queue's rows, its true counts and the next page's cursor."""
    mine = principal.sub if view == "mine" else None
    now = datetime.now(UTC)
    page = await queue.waiting(session, principal, mine=mine, limit=page_size, cursor=after)
    owners = {(principal.tenant, t.assignee) for t in page.tasks if t.assignee}
    logins = {email for _, email in await staff.staff_among(session, owners)}
    return {
        "tasks": [task_view(t, now, principal.role, logins) for t in page.tasks],
        "counts": page.counts,
        "next_cursor": page.next_cursor,
        "after": after,
    }


After = Annotated[str | None, Query(max_length=400)]


@router.get("/queue")
async def queue_page(
    request: Request,
    session: SessionDep,
    state: NotifyStateDep,
    view: Views = "mine",
    after: After = None,
) -> Response:
    login = await guard.logged_in(request, session)
    if login is None:
        return to_login()
    context = _queue_context(login.principal, view)
    if context is None:
        error = words(request)["team_forbidden"]
        context = {"view": "mine", "can_lead": False}
        return render(request, "queue.html", 403, login=login, tasks=[], error=error, **context)
    try:
        rows = await _queue_rows(session, login.principal, view, after, state.settings.ui_page_size)
    except ServiceError as exc:  # a cursor we did not give out: the first page
        return render(request, "queue.html", exc.status, login=login, tasks=[],
                      error=exc.message, **context)  # fmt: skip
    return render(
        request,
        "queue.html",
        login=login,
        poll_ms=int(state.settings.ui_poll_s * 1000),
        **rows,
        **context,
    )


@router.get("/queue/rows")
async def queue_rows(
    request: Request,
    session: SessionDep,
    state: NotifyStateDep,
    view: Views = "mine",
    after: After = None,
) -> Response:
    """The queue's rows alone, for the page's live update: it polls this and swaps them in, so
    a task claimed by someone else leaves every other agent's queue without a reload."""
    login = await guard.logged_in(request, session)
    if login is None:
        return Response(status_code=401)
    context = _queue_context(login.principal, view)
    if context is None:
        return Response(status_code=403)
    try:
        rows = await _queue_rows(session, login.principal, view, after, state.settings.ui_page_size)
    except ServiceError as exc:
        return Response(status_code=exc.status)
    return render(request, "_queue_rows.html", login=login, **rows, **context)


async def _task_page(
    request: Request,
    session: SessionDep,
    settings: NotifySettings,
    login: Login,
    task_id: uuid.UUID,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The task page, or for an id not in the principal's tenant the queue page with 404."""
    principal = login.principal
    try:
        task = await queue.get(session, principal.tenant, task_id, principal)
    except ServiceError as exc:
        return render(
            request, "queue.html", exc.status, login=login, tasks=[], error=exc.message,
            view="mine", can_lead=principal.role in LEADS,
        )  # fmt: skip
    now = datetime.now(UTC)
    view = task_view(task, now, principal.role)
    view["notes"] = await queue.notes(session, task)
    locale = request.cookies.get(LOCALE_COOKIE)
    reasons = await reason_codes.load(session, principal.tenant)
    view["reason_label"] = reasons.label(task.reason, locale) if task.reason else None
    return render(
        request,
        "task.html",
        status,
        login=login,
        task=view,
        context=await call_context.assemble(session, task, principal),
        **await _reply_form(session, task, principal, settings, words(request)),
        can_lead=principal.role in LEADS,
        error=error,
        outcomes=get_args(Outcome),
        reasons=[(code, reasons.label(code, locale)) for code in reasons.codes],
    )


async def _reply_form(
    session: SessionDep, task: Task, who: Principal, settings: NotifySettings, text: dict[str, str]
) -> dict[str, Any]:
    """The reply form's start (a draft and a fresh key), or why there is none; and the replies
    sent. Only for those who contact respondents."""
    if who.role not in CONTACT_READERS:
        return {}
    found: dict[str, Any] = {"replies": await reply.sent(session, task)}
    try:
        found["draft"] = await reply.draft(session, task, settings)
        found["reply_key"] = uuid.uuid4()
    except ServiceError as exc:
        found["no_reply"] = refusal(exc, text)
    return found


@router.get("/tasks/{task_id}")
async def task_page(
    request: Request, task_id: uuid.UUID, session: SessionDep, state: NotifyStateDep
) -> Response:
    login = await guard.logged_in(request, session)
    if login is None:
        return to_login()
    return await _task_page(request, session, state.settings, login, task_id)


async def _act(
    request: Request,
    session: SessionDep,
    state: NotifyStateDep,
    task_id: uuid.UUID,
    csrf: str,
    change: Callable[[Principal], Awaitable[object]],
) -> Response:
    """Run one queue operation for the logged-in person and go back to the task (POST, redirect,
    GET). A refusal or an invalid form shows the task page again with the reason; a POST from
    another origin or without the session's token changes nothing (403)."""
    try:
        login = await guard.posted(request, session, state.settings, csrf)
    except guard.Forged:
        return render(request, "refused.html", 403, error=words(request)["forged"])
    if login is None:
        return to_login()
    try:
        await change(login.principal)
    except ValidationError as exc:
        message = form_error(exc, words(request))
        return await _task_page(request, session, state.settings, login, task_id, message, 422)
    except ServiceError as exc:
        message = refusal(exc, words(request))
        return await _task_page(
            request, session, state.settings, login, task_id, message, exc.status
        )
    return RedirectResponse(f"/tasks/{task_id}", status_code=303)


@router.post("/tasks/{task_id}/claim")
async def claim(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    state: NotifyStateDep,
    csrf: Csrf = "",
) -> Response:
    async def change(who: Principal) -> object:
        return await queue.claim(session, who.tenant, task_id, who)

    return await _act(request, session, state, task_id, csrf, change)


@router.post("/tasks/{task_id}/complete")
async def complete(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    state: NotifyStateDep,
    csrf: Csrf = "",
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    async def change(who: Principal) -> object:
        body = CompleteIn.model_validate(
            {"outcome": outcome, "note": note, "reason": reason or None}
        )
        return await queue.complete(
            session, who.tenant, task_id, who, body.outcome, body.note, body.reason
        )

    return await _act(request, session, state, task_id, csrf, change)


@router.post("/tasks/{task_id}/reassign")
async def reassign(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    state: NotifyStateDep,
    csrf: Csrf = "",
    assignee: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    async def change(who: Principal) -> object:
        body = ReassignIn.model_validate({"assignee": assignee, "note": note or None})
        return await queue.reassign(
            session, who.tenant, task_id, who, str(body.assignee), body.note
        )

    return await _act(request, session, state, task_id, csrf, change)


@router.post("/tasks/{task_id}/reopen")
async def reopen(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    state: NotifyStateDep,
    csrf: Csrf = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    async def change(who: Principal) -> object:
        body = ReopenIn.model_validate({"note": note})
        return await queue.reopen(session, who.tenant, task_id, who, body.note)

    return await _act(request, session, state, task_id, csrf, change)


@router.post("/tasks/{task_id}/notes")
async def add_note(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    state: NotifyStateDep,
    csrf: Csrf = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    async def change(who: Principal) -> object:
        note = NoteIn.model_validate({"body": body})
        return await queue.add_note(session, who.tenant, task_id, who, note.body)

    return await _act(request, session, state, task_id, csrf, change)


@router.post("/tasks/{task_id}/reply")
async def send_reply(
    request: Request,
    task_id: uuid.UUID,
    session: SessionDep,
    state: NotifyStateDep,
    csrf: Csrf = "",
    key: Annotated[str, Form()] = "",
    subject: Annotated[str, Form()] = "",
    message: Annotated[str, Form()] = "",
) -> Response:
    """Send the respondent a mail (`tasks/reply.py`); the form's key makes a double submit one
    mail."""

    async def change(who: Principal) -> object:
        form = reply.ReplyIn.model_validate({"key": key, "subject": subject, "message": message})
        return await reply.send(session, task_id, who, form, state.settings)

    return await _act(request, session, state, task_id, csrf, change)
