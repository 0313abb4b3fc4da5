"""What every server-rendered page shares: the templates, the words in the visitor's language,
and the logged-in person's name and form token (`ui/guard.py` decides who that is)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from anbefal.common.errors import ServiceError
from anbefal.notify import localtime
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
    time_zone: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page; with `login`, its header shows who is logged in and its forms carry the
    session's token (`csrf`)."""
    locale = supported(locale) or language(request)
    session = {"principal": login.principal, "csrf": login.csrf} if login else {}
    deployment = request.app.state.wiring.state.settings.default_time_zone
    tz = localtime.zone(time_zone, login.time_zone if login else None, deployment)
    now = datetime.now(UTC)
    clock = {
        # Times in the viewer's zone, named; a due time also in words ("i morgen kl. 14:00").
        "when": lambda at: localtime.date_time(_aware(at), tz, locale) if at else "",
        "due": lambda at: localtime.due(_aware(at), tz, locale, now) if at else "",
    }
    return templates.TemplateResponse(
        request,
        name,
        {"t": texts(locale), "lang": locale, "principal": None, **clock, **session, **context},
        status_code=status,
    )


def _aware(at: datetime | str) -> datetime:
    """A stored time (attached answers keep theirs as ISO text)."""
    return datetime.fromisoformat(at) if isinstance(at, str) else at


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


# A form's fields, and what to ask for when one is refused.
_FIELD_WORDS = {"note": "need_note", "body": "need_note", "outcome": "need_outcome",
                "assignee": "need_email", "subject": "need_subject",
                "message": "need_message"}  # fmt: skip


def form_error(exc: ValidationError, text: dict[str, str]) -> str:
    """A refused form's reason in the page's language, never the validator's English."""
    errors = exc.errors()
    field = str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else ""
    return text[_FIELD_WORDS.get(field, "check_form")]


def refusal(exc: ServiceError, text: dict[str, str]) -> str:
    """A refused operation's reason in the page's language, where we have its words."""
    return text.get(f"refused_{exc.code}", exc.message)
