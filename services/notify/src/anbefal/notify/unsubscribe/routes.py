"""The public page behind every respondent mail's unsubscribe link. No login: the signed token is
the permission. Its POST is also the RFC 8058 one-click target."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from anbefal.common.deps import RuntimeDep, SessionDep
from anbefal.notify.ui.pages import render, words
from anbefal.notify.unsubscribe import service

router = APIRouter(include_in_schema=False)


async def _page(
    request: Request, token: str, session: SessionDep, runtime: RuntimeDep, *, confirm: bool
) -> HTMLResponse:
    secret = runtime.settings.jwt_secret.get_secret_value()
    result = await service.follow(session, secret, token, confirm=confirm)
    if result is None:
        return render(
            request,
            "unsubscribe.html",
            404,
            principal=None,
            error=words(request).get("unsubscribe_bad"),
        )
    return render(
        request,
        "unsubscribe.html",
        locale=result.subscriber.locale,
        principal=None,
        done=confirm,
        email=result.subscriber.email,
        tenant_name=result.tenant_name,
    )


@router.get("/unsubscribe/{token}")
async def unsubscribe_form(
    request: Request, token: str, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    return await _page(request, token, session, runtime, confirm=False)


@router.post("/unsubscribe/{token}")
async def unsubscribe_confirm(
    request: Request, token: str, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    return await _page(request, token, session, runtime, confirm=True)
