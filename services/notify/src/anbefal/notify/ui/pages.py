"""What every server-rendered page shares: the templates, the words in the visitor's language,
and the logged-in person's name and form token (`ui/guard.py` decides who that is)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from anbefal.notify.staff.sessions import Login
from anbefal.notify.ui.i18n import texts

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
LOCALE_COOKIE = "anbefal_locale"


def words(request: Request) -> dict[str, str]:
    """The page's words in the visitor's language (their cookie; English without one)."""
    return texts(request.cookies.get(LOCALE_COOKIE))


def render(
    request: Request,
    name: str,
    status: int = 200,
    locale: str | None = None,
    login: Login | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page; with `login`, its header shows who is logged in and its forms carry the
    session's token (`csrf`)."""
    locale = locale or request.cookies.get(LOCALE_COOKIE, "en")
    session = {"principal": login.principal, "csrf": login.csrf} if login else {}
    return templates.TemplateResponse(
        request,
        name,
        {"t": texts(locale), "lang": locale, "principal": None, **session, **context},
        status_code=status,
    )


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)
