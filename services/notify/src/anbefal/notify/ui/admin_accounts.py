"""`/admin/accounts`: the admin's page for the owners that answers are routed to (closed_loop's
API, called as the logged-in admin: `dashboard/client.py`). Upload a CSV file of accounts (and
segments) or of people; a file with a bad row loads nothing and is answered with a table of its
bad rows (line, column, why, in the page's language); what is loaded is counted and paged."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from anbefal.common.deps import SessionDep
from anbefal.notify.dashboard.client import Apis, Refused, Unavailable
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.staff.sessions import Login
from anbefal.notify.ui.admin_access import admin_posting, admin_viewing
from anbefal.notify.ui.admin_rules_words import admin_words
from anbefal.notify.ui.pages import language, render

router = APIRouter(include_in_schema=False)
PAGE = "/admin/accounts"
UPLOAD = f"{PAGE}/upload"
PAGE_SIZE = 20
Kind = Literal["accounts", "people"]
From = Annotated[int, Query(ge=0, le=10_000_000)]
EMAIL_FIELDS = ("email", "salesperson", "director")


def _words(request: Request) -> dict[str, str]:
    return admin_words(language(request))


def row_problem(detail: dict[str, Any], text: dict[str, str]) -> dict[str, Any]:
    """One bad row of a refused file as the page shows it: the line, the column, and why in
    the page's language (by closed_loop's error type and the column)."""
    kind, field = str(detail.get("type", "")), str(detail.get("field", ""))
    if kind == "string_pattern_mismatch":
        why = text["why_string_pattern_mismatch" if field in EMAIL_FIELDS else "why_country"]
    elif kind == "value_error":
        why = text["why_time_zone" if field == "time_zone" else "why_work_hours"]
    else:
        why = text.get(f"why_{kind}", text["why_other"])
    row = detail.get("row")
    where = text["whole_row"] if row is not None else text["whole_file"]
    return {"row": row if row is not None else "–", "field": field or where, "why": why}


async def _page(
    request: Request,
    state: NotifyStateDep,
    login: Login,
    status: int = 200,
    accounts_from: int = 0,
    people_from: int = 0,
    **context: Any,
) -> Response:
    text = _words(request)
    page = {"limit": str(PAGE_SIZE)}
    try:
        async with Apis(state.settings, login.principal, state.settings.closed_loop_url) as api:
            counts = await api.json("owners", {})
            accounts = await api.json("accounts", {**page, "offset": str(accounts_from)})
            people = await api.json("people", {**page, "offset": str(people_from)})
    except (Unavailable, Refused):
        return render(request, "refused.html", 503, login=login, error=text["unavailable"])
    return render(
        request, "admin_accounts.html", status, login=login, words=text, counts=counts,
        accounts=accounts, people=people, accounts_from=accounts_from, people_from=people_from,
        page_size=PAGE_SIZE, **context,
    )  # fmt: skip


@router.get(PAGE)
async def accounts_page(
    request: Request,
    session: SessionDep,
    state: NotifyStateDep,
    done: str = "",
    accounts_from: From = 0,
    people_from: From = 0,
) -> Response:
    text = _words(request)
    login = await admin_viewing(request, session, text["admins_only"])
    if not isinstance(login, Login):
        return login
    return await _page(
        request, state, login, accounts_from=accounts_from, people_from=people_from,
        loaded=done if done in ("accounts", "people") else None,
    )  # fmt: skip


@router.post(UPLOAD)
async def upload(request: Request, session: SessionDep, state: NotifyStateDep) -> Response:
    """A CSV file replaces the accounts or the people as a whole, or (a bad row) nothing."""
    text = _words(request)
    async with request.form() as form:
        csrf, kind_field, file = form.get("csrf", ""), form.get("kind"), form.get("file")
        body = await file.read() if isinstance(file, UploadFile) else b""
    login = await admin_posting(
        request, session, state.settings, str(csrf),
        admins_only=text["admins_only"], forged=text["forged"],
    )  # fmt: skip
    if not isinstance(login, Login):
        return login
    kind: Kind = "people" if kind_field == "people" else "accounts"
    if not body:  # no file chosen
        return await _page(request, state, login, 422, error=text["no_file"], failed=kind)
    try:
        body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return await _page(request, state, login, 422, error=text["not_utf8"], failed=kind)
    try:
        async with Apis(state.settings, login.principal, state.settings.closed_loop_url) as api:
            await api.send("PUT", kind, content=body, content_type="text/csv")
    except Refused as refusal:
        problems = [row_problem(d, text) for d in refusal.details]
        # Bad rows are listed at the form; another refusal is the page's alert.
        error = None if problems else refusal.message
        return await _page(request, state, login, 422, error=error, problems=problems, failed=kind)
    except Unavailable:
        return render(request, "refused.html", 503, login=login, error=text["unavailable"])
    return RedirectResponse(f"{PAGE}?done={kind}", status_code=303)
