"""The staff pages' defences: who is logged in, and that a POST comes from our own pages.

- The session cookie holds a random token for a server-side session (`staff/sessions.py`):
  HttpOnly, SameSite=Lax, and Secure when the configured public URL is https.
- Every POST must come from our own origin: its `Origin` header (or, without one, its
  `Referer`) must be the public URL's origin or the address the request was sent to. SameSite
  alone does not cover this: another port or subdomain of the same site is "same-site" and gets
  the cookie.
- Every staff form carries a token: the session's own (stored with the session), or for the
  login form, the one in a short-lived cookie set with the form (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff import sessions
from anbefal.notify.staff.sessions import Login

COOKIE = "anbefal_session"
LOGIN_CSRF_COOKIE = "anbefal_login_csrf"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Forged(Exception):
    """A POST that did not come from our own page (another origin, or without its token)."""


def secure(settings: NotifySettings) -> bool:
    return settings.public_url.lower().startswith("https://")


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    shown = f":{port}" if port and port != _DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{shown}"


def same_origin(request: Request, settings: NotifySettings) -> bool:
    """Whether a POST comes from our own pages, by its Origin (or Referer) header. Browsers send
    Origin with every form POST; a request with neither header is refused."""
    sent = request.headers.get("origin")
    if sent is None:
        sent = request.headers.get("referer")
    claimed = _origin(sent) if sent else None  # "null" (a sandboxed frame) is no origin
    if claimed is None:
        return False
    ours = {_origin(settings.public_url)}
    if host := request.headers.get("host"):
        ours.add(_origin(f"{request.url.scheme}://{host}"))
    return claimed in ours


def _same_token(sent: str, expected: str) -> bool:
    return hmac.compare_digest(sent.encode(), expected.encode())


async def logged_in(request: Request, session: AsyncSession) -> Login | None:
    return await sessions.current(session, request.cookies.get(COOKIE))


async def posted(
    request: Request, session: AsyncSession, settings: NotifySettings, csrf: str
) -> Login | None:
    """The login behind a staff form's POST (None: not logged in). Raises `Forged` for a POST
    from another origin or without the session's token."""
    if not same_origin(request, settings):
        raise Forged
    login = await logged_in(request, session)
    if login is not None and not _same_token(csrf, login.csrf):
        raise Forged
    return login


def login_form_token(request: Request) -> str:
    """The login form's token: the one its cookie already holds (another tab's form stays
    valid), else a new one."""
    held = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return held if 32 <= len(held) <= 64 else secrets.token_urlsafe(32)


def set_login_form_token(response: Response, token: str, settings: NotifySettings) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=secure(settings),
    )


def check_login_post(request: Request, settings: NotifySettings, csrf: str) -> None:
    """Raises `Forged` unless the login POST comes from our origin with its form's token."""
    held = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not same_origin(request, settings) or not held or not _same_token(csrf, held):
        raise Forged


def set_session(response: Response, token: str, settings: NotifySettings) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(settings.staff_session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=secure(settings),
    )


def clear_session(response: Response, settings: NotifySettings) -> None:
    response.delete_cookie(COOKIE, httponly=True, samesite="lax", secure=secure(settings))
