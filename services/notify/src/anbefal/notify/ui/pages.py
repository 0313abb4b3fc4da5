"""What every server-rendered page shares: the templates, the words in the visitor's language,
and who is logged in (a token in an HttpOnly cookie).

SameSite=Lax keeps the cookie off cross-site POSTs, which is what protects the pages' forms from
cross-site request forgery.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from anbefal.common.auth import InvalidToken, Principal, verify_token
from anbefal.notify.ui.i18n import texts

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
COOKIE = "anbefal_session"
LOCALE_COOKIE = "anbefal_locale"
SESSION_HOURS = 12


def logged_in(request: Request, secret: str) -> Principal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return verify_token(secret, token)
    except InvalidToken:
        return None


def words(request: Request) -> dict[str, str]:
    """The page's words in the visitor's language (their cookie; English without one)."""
    return texts(request.cookies.get(LOCALE_COOKIE))


def render(
    request: Request, name: str, status: int = 200, locale: str | None = None, **context: Any
) -> HTMLResponse:
    locale = locale or request.cookies.get(LOCALE_COOKIE, "en")
    return templates.TemplateResponse(
        request, name, {"t": texts(locale), "lang": locale, **context}, status_code=status
    )


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)
