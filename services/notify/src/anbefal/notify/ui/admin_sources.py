"""`/admin/sources`: the admin's page for survey-tool sources (Danish and English, phone width):
add one (its webhook URL and a generated secret shown once), rotate its secret, see how its
last deliveries were answered and the bodies it refused, and replay one of those.

The sources are ingest's: every call goes to ingest's API as the logged-in admin, with the
dashboard's one-minute token (`dashboard/client.py`), so ingest's own checks and audit trail
apply as for the CLI. A secret is in the answer to the POST that made it and nowhere else: that
page is not cached, and no later page can show it."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from anbefal.common.deps import SessionDep
from anbefal.notify.dashboard.client import Apis, Refused, Unavailable
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.staff.sessions import Login
from anbefal.notify.ui.admin_access import admin_posting, admin_viewing
from anbefal.notify.ui.admin_sources_words import TOOLS, WORDS, field_errors
from anbefal.notify.ui.pages import LOCALE_COOKIE, render

router = APIRouter(include_in_schema=False)
PAGE = "/admin/sources"
Csrf = Annotated[str, Form()]
Text = Annotated[str, Form(max_length=500)]
Name = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
NO_STORE = {"Cache-Control": "no-store"}


def _words(request: Request) -> dict[str, str]:
    return WORDS.get(request.cookies.get(LOCALE_COOKIE, "en"), WORDS["en"])


def _apis(state: NotifyStateDep, login: Login) -> Apis:
    return Apis(state.settings, login.principal, state.settings.ingest_url)


async def _list(
    request: Request, state: NotifyStateDep, login: Login, status: int = 200, **context: Any
) -> Response:
    text = _words(request)
    sources: list[dict[str, Any]] = []
    try:
        async with _apis(state, login) as apis:
            sources = (await apis.json("sources", {}))["sources"]
    except (Unavailable, Refused):
        context.setdefault("error", text["unavailable"])
    return render(
        request, "admin_sources.html", status, login=login, words=text, sources=sources,
        tools=TOOLS, form=context.pop("form", {}), errors=context.pop("errors", {}), **context,
    )  # fmt: skip


async def _detail(
    request: Request,
    state: NotifyStateDep,
    login: Login,
    name: str,
    status: int = 200,
    **context: Any,
) -> Response:
    text = _words(request)
    try:
        async with _apis(state, login) as apis:
            source, lines, kept = await asyncio.gather(
                apis.json(f"sources/{name}", {}),
                apis.json(f"sources/{name}/deliveries", {"limit": "30"}),
                apis.json("rejected", {"source": name, "limit": "30"}),
            )
    except Refused as exc:
        if exc.status == 404:
            return render(request, "refused.html", 404, login=login, error=text["no_source"])
        return await _list(request, state, login, exc.status, error=exc.message)
    except Unavailable:
        return await _list(request, state, login, 503, error=text["unavailable"])
    return render(
        request, "admin_source.html", status, login=login, words=text, source=source,
        deliveries=lines["deliveries"], rejected=kept["rejected"],
        errors=context.pop("errors", {}), **context,
    )  # fmt: skip


@router.get(PAGE)
async def sources_page(request: Request, session: SessionDep, state: NotifyStateDep) -> Response:
    login = await admin_viewing(request, session, _words(request)["admins_only"])
    if isinstance(login, Response):
        return login
    return await _list(request, state, login)


@router.get(f"{PAGE}/{{name}}")
async def source_page(
    request: Request, session: SessionDep, state: NotifyStateDep, name: Name, done: str = ""
) -> Response:
    text = _words(request)
    login = await admin_viewing(request, session, text["admins_only"])
    if isinstance(login, Response):
        return login
    # Only our own notes: a link cannot make the page say something else.
    notice = text[f"done_{done}"] if done in ("replayed",) else None
    return await _detail(request, state, login, name, notice=notice)


async def _posting(
    request: Request, session: SessionDep, state: NotifyStateDep, csrf: str
) -> Login | Response:
    text = _words(request)
    return await admin_posting(
        request, session, state.settings, csrf, admins_only=text["admins_only"],
        forged=text["forged"],
    )  # fmt: skip


def _mapping(lines: str) -> dict[str, dict[str, str]]:
    """`respondent.email=email`, `segment.department=dept`, `owner.director=boss`, one a line,
    as the source's field map. Raises ValueError naming the line it cannot read."""
    parts = {"respondent": "respondent", "segment": "segments", "owner": "owners"}
    found: dict[str, dict[str, str]] = {}
    for line in filter(None, (raw.strip() for raw in lines.splitlines())):
        target, eq, field = line.partition("=")
        part, dot, key = target.strip().partition(".")
        if not (eq and dot and part in parts and key and field.strip()):
            raise ValueError(line)
        found.setdefault(parts[part], {})[key.strip()] = field.strip()
    return found


@router.post(PAGE)
async def add_source(
    request: Request, session: SessionDep, state: NotifyStateDep, csrf: Csrf,
    name: Text, tool: Text, kind: Text = "nps", score_field: Text = "", comment_field: Text = "",
    mapping: Annotated[str, Form(max_length=4000)] = "", secret: Text = "",
    api_token: Text = "", api_base_url: Text = "", client_id: Text = "",
) -> Response:  # fmt: skip
    login = await _posting(request, session, state, csrf)
    if isinstance(login, Response):
        return login
    text = _words(request)
    form = {"name": name, "tool": tool, "kind": kind, "score_field": score_field,
            "comment_field": comment_field, "mapping": mapping, "api_base_url": api_base_url,
            "client_id": client_id}  # fmt: skip
    try:
        fields = {
            "score": score_field or None,
            "comment": comment_field or None,
            **_mapping(mapping),
        }
    except ValueError as exc:
        errors = {"mapping": text["bad_mapping"].format(line=exc)}
        return await _list(request, state, login, 422, form=form, errors=errors)
    body = {
        "tool": tool, "kind": kind, "secret": secret.strip() or None,
        "fields": {k: v for k, v in fields.items() if v},
        "api_token": api_token.strip() or None, "api_base_url": api_base_url.strip() or None,
        "client_id": client_id.strip() or None,
    }  # fmt: skip
    if not body["api_token"]:
        body.pop("api_base_url")  # only the fetching tools take it: the form always sends it
    again = functools.partial(_list, request, state, login, form=form)
    saving = ("PUT", f"sources/{name}", body)
    return await _saved(request, state, login, name, saving, text["added"], again)


async def _saved(
    request: Request,
    state: NotifyStateDep,
    login: Login,
    name: str,
    saving: tuple[str, str, dict[str, Any]],
    notice: str,
    again: Callable[..., Awaitable[Response]],
) -> Response:
    """Ingest's answer to a save that may make a secret: the source's page with the secret
    shown this once (and not cached); or `again` (the form) with ingest's refusal next to the
    field it is about."""
    text = _words(request)
    method, path, body = saving
    try:
        async with _apis(state, login) as apis:
            saved = (await apis.send(method, path, json=body)).json()
    except Refused as exc:
        return await again(
            422, errors=field_errors(text, exc.status, exc.code, exc.message, exc.details)
        )
    except Unavailable:
        return await again(503, error=text["unavailable"])
    response = await _detail(request, state, login, name, shown=saved, notice=notice)
    response.headers.update(NO_STORE)
    return response


@router.post(f"{PAGE}/{{name}}/rotate")
async def rotate_secret(
    request: Request, session: SessionDep, state: NotifyStateDep, csrf: Csrf, name: Name,
    secret: Text = "",
) -> Response:  # fmt: skip
    login = await _posting(request, session, state, csrf)
    if isinstance(login, Response):
        return login
    text = _words(request)
    body = {"secret": secret.strip()} if secret.strip() else {}
    again = functools.partial(_detail, request, state, login, name)
    saving = ("POST", f"sources/{name}/rotate-secret", body)
    return await _saved(request, state, login, name, saving, text["rotated"], again)


@router.post(f"{PAGE}/{{name}}/replay/{{rejected_id}}")
async def replay(
    request: Request, session: SessionDep, state: NotifyStateDep, csrf: Csrf, name: Name,
    rejected_id: int,
) -> Response:  # fmt: skip
    login = await _posting(request, session, state, csrf)
    if isinstance(login, Response):
        return login
    text = _words(request)
    try:
        async with _apis(state, login) as apis:
            await apis.send("POST", f"rejected/{rejected_id}/replay")
    except Refused as exc:
        error = text["still_refused"].format(reason=exc.message)
        return await _detail(request, state, login, name, 422, error=error)
    except Unavailable:
        return await _detail(request, state, login, name, 503, error=text["unavailable"])
    return RedirectResponse(f"{PAGE}/{name}?done=replayed", status_code=303)
