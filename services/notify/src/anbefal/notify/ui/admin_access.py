"""Who may use an admin page: a logged-in admin of the tenant; and for a form's POST, one that
came from our own page with the session's token (`guard.py`). Either the login, or the page to
send instead (the login page, or a refusal in the visitor's language)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Role
from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff.sessions import Login
from anbefal.notify.ui import guard
from anbefal.notify.ui.pages import render, to_login


def _admin(request: Request, login: Login | None, admins_only: str) -> Login | Response:
    if login is None:
        return to_login()
    if login.principal.role != Role.ADMIN:
        return render(request, "refused.html", 403, login=login, error=admins_only)
    return login


async def admin_viewing(
    request: Request, session: AsyncSession, admins_only: str
) -> Login | Response:
    return _admin(request, await guard.logged_in(request, session), admins_only)


async def admin_posting(
    request: Request,
    session: AsyncSession,
    settings: NotifySettings,
    csrf: str,
    *,
    admins_only: str,
    forged: str,
) -> Login | Response:
    try:
        login = await guard.posted(request, session, settings, csrf)
    except guard.Forged:
        return render(request, "refused.html", 403, error=forged)
    return _admin(request, login, admins_only)
