"""The page behind an invitation's or a password reset's one-time link (`staff/links.py`):
choose a password, then log in. The link's token is the page's secret; the POST must also come
from our own origin (`ui/guard.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from anbefal.common.deps import SessionDep
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.models import StaffLink
from anbefal.notify.staff import links
from anbefal.notify.ui import guard
from anbefal.notify.ui.pages import LOCALE_COOKIE, render

router = APIRouter(include_in_schema=False)

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Choose your password",
        "lead": "For {email} at {tenant}. At least 10 characters.",
        "password": "New password",
        "again": "The same password again",
        "save": "Save and go to log in",
        "gone": "This link has been used or has expired. Ask your administrator for a new one.",
        "differ": "The two passwords are not the same.",
        "short": "The password needs at least 10 characters.",
        "forged": "This form did not come from this page. Open the link from your mail again.",
    },
    "da": {
        "heading": "Vælg din adgangskode",
        "lead": "Til {email} hos {tenant}. Mindst 10 tegn.",
        "password": "Ny adgangskode",
        "again": "Samme adgangskode igen",
        "save": "Gem og gå til login",
        "gone": "Linket er brugt eller udløbet. Bed jeres administrator om et nyt.",
        "differ": "De to adgangskoder er ikke ens.",
        "short": "Adgangskoden skal have mindst 10 tegn.",
        "forged": "Formularen kom ikke fra denne side. Åbn linket fra din mail igen.",
    },
}


def _page(
    request: Request, token: str, link: StaffLink | None, status: int, error: str | None
) -> HTMLResponse:
    locale = link.locale if link else request.cookies.get(LOCALE_COOKIE, "en")
    words = WORDS.get(locale, WORDS["en"])
    return render(
        request, "set_password.html", 410 if link is None else status, locale=locale,
        words=words, link=link, token=token, error=error or (None if link else words["gone"]),
    )  # fmt: skip


@router.get("/set-password/{token}")
async def set_password_form(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    return _page(request, token, await links.usable(session, token), 200, None)


@router.post("/set-password/{token}")
async def set_password(
    request: Request,
    token: str,
    session: SessionDep,
    state: NotifyStateDep,
    password: Annotated[str, Form()],
    again: Annotated[str, Form()],
) -> Response:
    link = await links.usable(session, token)
    words = WORDS.get(link.locale if link else "en", WORDS["en"])
    if not guard.same_origin(request, state.settings):
        return _page(request, token, link, 403, words["forged"])
    if link is None:
        return _page(request, token, None, 410, None)
    if password != again:
        return _page(request, token, link, 422, words["differ"])
    try:
        used = await links.use(session, token, password)
    except ValueError:
        return _page(request, token, link, 422, words["short"])
    if used is None:  # used by another request in the meantime
        return _page(request, token, None, 410, None)
    response = RedirectResponse("/login", status_code=303)
    response.set_cookie(
        LOCALE_COOKIE, used.locale, samesite="lax", secure=guard.secure(state.settings)
    )
    return response
