"""The page behind a signed task link (`tasks/links.py`): one task, for its owner without a
staff login. It shows the task and lets them claim it and complete it with an outcome and a
note; nothing else (no queue, no other task, no notes, no reassigning), and it stops opening
once the task is closed or given to someone else. The token is the permission: no session,
no cookie; a POST must come from our own origin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, get_args

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep
from anbefal.common.errors import ServiceError
from anbefal.notify import repository
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.models import Task
from anbefal.notify.reasons import repository as reason_codes
from anbefal.notify.schemas import CompleteIn
from anbefal.notify.tasks import context as call_context
from anbefal.notify.tasks import links, queue
from anbefal.notify.tasks.lifecycle import Outcome
from anbefal.notify.tasks.links import TaskLink
from anbefal.notify.ui.guard import same_origin
from anbefal.notify.ui.pages import form_error, language, refusal, render, words
from anbefal.notify.ui.views import task_view

router = APIRouter(include_in_schema=False)


async def _opened(
    session: AsyncSession, state: NotifyStateDep, token: str, *, lock: bool = False
) -> tuple[TaskLink, Task] | None:
    link = links.read(state.settings.unsubscribe_link_keys().keyring, token)
    if link is None:
        return None
    task = await queue.find(session, link.tenant, link.task_id, lock=lock)
    return (link, task) if task is not None and links.opens(link, task) else None


def _holder(link: TaskLink) -> Principal:
    # Works the one task as an agent would: claims and completes in their own name.
    return Principal(tenant=link.tenant, role=Role.AGENT, sub=link.email)


async def _reader(request: Request, session: AsyncSession, tenant: str) -> tuple[str, str | None]:
    """The page's language and time zone: the browser's language, else the tenant's, and the
    tenant's zone (a link holder has no settings of their own)."""
    found = (await repository.tenants(session, {tenant})).get(tenant)
    return language(request, found.locale if found else None), found.time_zone if found else None


async def _page(
    request: Request,
    session: AsyncSession,
    token: str,
    opened: tuple[TaskLink, Task] | None,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    if opened is None:
        return render(request, "task_link_closed.html", 404, error=words(request)["link_closed"])
    link, task = opened
    view = task_view(task, datetime.now(UTC), Role.AGENT)
    view["notes"] = await queue.notes(session, task)
    locale, zone = await _reader(request, session, link.tenant)
    reasons = await reason_codes.load(session, link.tenant)
    return render(
        request, "task.html", status, locale=locale, time_zone=zone, task=view,
        context=await call_context.assemble(session, task, None),
        can_lead=False, error=error, outcomes=get_args(Outcome), base=f"/t/{token}",
        link_holder=link.email,
        reasons=[(code, reasons.label(code, locale)) for code in reasons.codes],
    )  # fmt: skip


@router.get("/t/{token}")
async def task_link(
    request: Request, token: str, session: SessionDep, state: NotifyStateDep
) -> HTMLResponse:
    return await _page(request, session, token, await _opened(session, state, token))


async def _act(
    request: Request,
    token: str,
    session: AsyncSession,
    state: NotifyStateDep,
    change: Callable[[TaskLink, Task], Awaitable[object]],
) -> Response | None:
    """Run one operation on the link's task, as its holder. Returns the page to answer with
    when it is refused (another origin, a closed link, an invalid form), None when done."""
    if not same_origin(request, state.settings):
        return render(request, "task_link_closed.html", 403, error=words(request)["forged"])
    opened = await _opened(session, state, token, lock=True)
    if opened is None:
        return await _page(request, session, token, None)
    try:
        await change(*opened)
    except ValidationError as exc:
        message = form_error(exc, words(request))
        return await _page(request, session, token, opened, error=message, status=422)
    except ServiceError as exc:
        message = refusal(exc, words(request))
        return await _page(request, session, token, opened, error=message, status=exc.status)
    return None


@router.post("/t/{token}/claim")
async def claim(
    request: Request, token: str, session: SessionDep, state: NotifyStateDep
) -> Response:
    async def change(link: TaskLink, task: Task) -> object:
        return await queue.claim(session, link.tenant, task.id, _holder(link))

    refused = await _act(request, token, session, state, change)
    return refused or RedirectResponse(f"/t/{token}", status_code=303)


@router.post("/t/{token}/complete")
async def complete(
    request: Request,
    token: str,
    session: SessionDep,
    state: NotifyStateDep,
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    async def change(link: TaskLink, task: Task) -> object:
        body = CompleteIn.model_validate(
            {"outcome": outcome, "note": note, "reason": reason or None}
        )
        return await queue.complete(
            session, link.tenant, task.id, _holder(link), body.outcome, body.note, body.reason
        )

    refused = await _act(request, token, session, state, change)
    if refused is not None:
        return refused
    link = links.read(state.settings.unsubscribe_link_keys().keyring, token)
    locale = (await _reader(request, session, link.tenant))[0] if link else None
    return render(request, "task_link_closed.html", locale=locale, done=True)
