"""The public page behind every respondent mail's unsubscribe link. No login: the sealed token is
the permission. Its POST is also the RFC 8058 one-click target, which mail providers send without
an `Origin`; a POST that names another origin is refused."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from anbefal.common.deps import SessionDep
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.ui.guard import same_origin
from anbefal.notify.ui.pages import render, words
from anbefal.notify.unsubscribe import service

router = APIRouter(include_in_schema=False)


async def _page(
    request: Request, token: str, session: SessionDep, state: NotifyStateDep, *, confirm: bool
) -> HTMLResponse:
    keys = state.settings.unsubscribe_link_keys()
    result = await service.follow(session, keys, token, confirm=confirm)
    if result is None:
        return render(request, "unsubscribe.html", 404, error=words(request)["unsubscribe_bad"])
    return render(
        request,
        "unsubscribe.html",
        locale=result.subscriber.locale,
        done=confirm,
        email=result.subscriber.email,
        tenant_name=result.tenant_name,
    )


@router.get("/unsubscribe/{token}")
async def unsubscribe_form(
    request: Request, token: str, session: SessionDep, state: NotifyStateDep
) -> HTMLResponse:
    return await _page(request, token, session, state, confirm=False)


@router.post("/unsubscribe/{token}")
async def unsubscribe_confirm(
    request: Request, token: str, session: SessionDep, state: NotifyStateDep
) -> HTMLResponse:
    named = "origin" in request.headers or "referer" in request.headers
    if named and not same_origin(request, state.settings):
        return render(request, "unsubscribe.html", 403, error=words(request)["forged"])
    return await _page(request, token, session, state, confirm=True)
