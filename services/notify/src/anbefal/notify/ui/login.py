"""Logging in and out of the staff pages.

A login is throttled per client address and per account (429 with `Retry-After` and the wait
in words), its password checked off the event loop, and it starts a server-side session. Both
forms carry a token and must come from our own origin (`ui/guard.py`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from anbefal.common.deps import SessionDep
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.sso.words import sso_words
from anbefal.notify.staff import service as staff
from anbefal.notify.staff import sessions
from anbefal.notify.staff.passwords import Busy
from anbefal.notify.ui import guard
from anbefal.notify.ui.i18n import wait_words
from anbefal.notify.ui.pages import LOCALE_COOKIE, render, to_login, words

router = APIRouter(include_in_schema=False)
BUSY_RETRY_S = 5


def login_page(
    request: Request,
    state: NotifyStateDep,
    status: int = 200,
    error: str | None = None,
    tenant: str = "",
    email: str = "",
) -> HTMLResponse:
    token = guard.login_form_token(request)
    page = render(
        request,
        "login.html",
        status,
        csrf=token,
        error=error,
        tenant=tenant,
        email=email,
        sso=sso_words(request.cookies.get(LOCALE_COOKIE)),
    )
    guard.set_login_form_token(page, token, state.settings)
    return page


@router.get("/login")
async def login_form(request: Request, state: NotifyStateDep) -> HTMLResponse:
    return login_page(request, state)


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    state: NotifyStateDep,
    tenant: Annotated[str, Form()],
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    text = words(request)
    try:
        guard.check_login_post(request, state.settings, csrf)
    except guard.Forged:
        return login_page(request, state, 403, text["forged"], tenant=tenant, email=email)
    address = request.client.host if request.client else "unknown"
    try:
        user = await staff.authenticate(
            session, state.logins, address, tenant.strip(), email, password
        )
    except Busy:
        page = login_page(request, state, 503, text["busy"], tenant=tenant, email=email)
        page.headers["Retry-After"] = str(BUSY_RETRY_S)
        return page
    if isinstance(user, staff.Throttled):
        wait = wait_words(text, user.retry_after_s)
        error = text["throttled"].format(wait=wait)
        page = login_page(request, state, 429, error, tenant=tenant, email=email)
        page.headers["Retry-After"] = str(user.retry_after_s)
        return page
    if user is None:
        return login_page(request, state, 401, text["bad_login"], tenant=tenant, email=email)
    token = await sessions.start(session, user, hours=state.settings.staff_session_hours)
    # Viewers work no tasks: their page is the dashboard.
    home = "/dashboard" if user.role == "viewer" else "/queue"
    response = RedirectResponse(home, status_code=303)
    guard.set_session(response, token, state.settings)
    response.set_cookie(
        LOCALE_COOKIE, user.locale, samesite="lax", secure=guard.secure(state.settings)
    )
    return response


@router.post("/logout")
async def logout(
    request: Request,
    session: SessionDep,
    state: NotifyStateDep,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    try:
        login = await guard.posted(request, session, state.settings, csrf)
    except guard.Forged:
        return render(request, "refused.html", 403, error=words(request)["forged"])
    if login is not None:
        await sessions.end(session, request.cookies.get(guard.COOKIE))
    response = to_login()
    guard.clear_session(response, state.settings)
    return response
