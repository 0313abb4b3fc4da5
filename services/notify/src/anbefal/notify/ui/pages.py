"""What every server-rendered page shares: the templates, the words in the visitor's language,
and the logged-in person's name and form token (`ui/guard.py` decides who that is)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from anbefal.notify.staff.sessions import Login
from anbefal.notify.ui.i18n import negotiate, supported, texts

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
LOCALE_COOKIE = "anbefal_locale"


def language(request: Request, fallback: str | None = None) -> str:
    """The visitor's language: the logged-in user's setting (the cookie set at login), else
    what their browser asks for (`Accept-Language`), else `fallback` (a tenant's), else
    English."""
    return (
        supported(request.cookies.get(LOCALE_COOKIE))
        or negotiate(request.headers.get("accept-language"))
        or supported(fallback)
        or "en"
    )


def words(request: Request) -> dict[str, str]:
    """The page's words in the visitor's language (`language`)."""
    return texts(language(request))


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
    locale = supported(locale) or language(request)
    session = {"principal": login.principal, "csrf": login.csrf} if login else {}
    return templates.TemplateResponse(
        request,
        name,
        {"t": texts(locale), "lang": locale, "principal": None, **session, **context},
        status_code=status,
    )


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)
