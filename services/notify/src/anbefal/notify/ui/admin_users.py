"""`/admin/users`: the admin's page for staff logins (Danish and English, phone width): invite
by email, change role and team scope, send a password reset, deactivate. Each form is POST,
redirect, GET, checked by `ui/guard.py`; the work is the admin API's (`staff/`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from anbefal.common.audit import actor_of
from anbefal.common.auth import Role, parse_scope
from anbefal.common.deps import SessionDep
from anbefal.common.errors import ServiceError
from anbefal.common.events import Actor
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.staff import links, repository, service
from anbefal.notify.staff.sessions import Login
from anbefal.notify.ui import guard
from anbefal.notify.ui.pages import LOCALE_COOKIE, render, to_login

router = APIRouter(include_in_schema=False)
PAGE = "/admin/users"
NOTES = ("invited", "reset_sent", "saved", "closed")
Csrf = Annotated[str, Form()]

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Users", "invite": "Invite someone", "email": "Email", "name": "Name",
        "role": "Role", "scope": "Team (e.g. team=Alpha; empty: everyone)",
        "language": "Language of the invitation", "send_invite": "Send invitation",
        "save": "Save role", "reset": "Send password link", "deactivate": "Deactivate",
        "inactive": "deactivated", "active": "active", "status": "Status",
        "admins_only": "Only administrators manage users.", "queue": "Back to the queue",
        "invited": "Invitation sent.", "reset_sent": "Password link sent.",
        "saved": "Saved; they log in again.", "closed": "Deactivated.",
        "forged": "This form did not come from this page, or it has expired. Reload the page.",
        "role_agent": "agent", "role_director": "director", "role_admin": "administrator",
        "role_viewer": "viewer",
    },
    "da": {
        "heading": "Brugere", "invite": "Invitér en ny bruger", "email": "Mail", "name": "Navn",
        "role": "Rolle", "scope": "Team (fx team=Alpha; tom: alle)",
        "language": "Invitationens sprog", "send_invite": "Send invitation",
        "save": "Gem rolle", "reset": "Send link til ny adgangskode", "deactivate": "Deaktivér",
        "inactive": "deaktiveret", "active": "aktiv", "status": "Status",
        "admins_only": "Kun administratorer kan styre brugere.", "queue": "Tilbage til listen",
        "invited": "Invitationen er sendt.", "reset_sent": "Linket er sendt.",
        "saved": "Gemt; vedkommende logger ind igen.", "closed": "Deaktiveret.",
        "forged": "Formularen kom ikke fra denne side, eller den er udløbet. Genindlæs siden.",
        "role_agent": "medarbejder", "role_director": "leder", "role_admin": "administrator",
        "role_viewer": "læser",
    },
}  # fmt: skip


def _words(request: Request) -> dict[str, str]:
    return WORDS.get(request.cookies.get(LOCALE_COOKIE, "en"), WORDS["en"])


async def _page(
    request: Request, session: SessionDep, login: Login, status: int = 200, **notes: str | None
) -> Response:
    users = await repository.users(session, login.principal.tenant)
    return render(
        request, "admin_users.html", status, login=login, words=_words(request), users=users,
        roles=service.LOGIN_ROLES, **notes,
    )  # fmt: skip


@router.get(PAGE)
async def users_page(request: Request, session: SessionDep, done: str = "") -> Response:
    login = await guard.logged_in(request, session)
    if login is None:
        return to_login()
    if login.principal.role != Role.ADMIN:
        return render(
            request, "refused.html", 403, login=login, error=_words(request)["admins_only"]
        )
    # Only our own notes: a link cannot make the page say something else.
    note = _words(request)[done] if done in NOTES else None
    return await _page(request, session, login, notice=note)


async def _act(
    request: Request,
    session: SessionDep,
    state: NotifyStateDep,
    csrf: str,
    work: Callable[[Login, Actor], Awaitable[str]],
) -> Response:
    """Check the POST (origin, token, an admin), do `work`, and show the page again with the
    note `work` names (POST, redirect, GET), or with the refusal's message."""
    text = _words(request)
    try:
        login = await guard.posted(request, session, state.settings, csrf)
    except guard.Forged:
        return render(request, "refused.html", 403, error=text["forged"])
    if login is None:
        return to_login()
    if login.principal.role != Role.ADMIN:
        return render(request, "refused.html", 403, login=login, error=text["admins_only"])
    try:
        note = await work(login, actor_of(login.principal))
    except (ServiceError, ValueError) as exc:
        message = exc.message if isinstance(exc, ServiceError) else str(exc)
        return await _page(request, session, login, 422, error=message)
    return RedirectResponse(f"{PAGE}?done={note}", status_code=303)


@router.post(f"{PAGE}/invite")
async def invite(
    request: Request, session: SessionDep, state: NotifyStateDep, csrf: Csrf,
    email: Annotated[str, Form()], role: Annotated[str, Form()],
    name: Annotated[str, Form()] = "", scope: Annotated[str, Form()] = "",
    locale: Annotated[str, Form()] = "en",
) -> Response:  # fmt: skip
    async def work(login: Login, actor: Actor) -> str:
        await links.invite(
            session, state.settings, tenant=login.principal.tenant, email_address=email,
            name=name, role=role, scope=parse_scope(scope), actor=actor,
            locale=locale if locale in WORDS else "en",
        )  # fmt: skip
        return "invited"

    return await _act(request, session, state, csrf, work)


@router.post(f"{PAGE}/{{email}}/role")
async def change_role(
    request: Request, session: SessionDep, state: NotifyStateDep, csrf: Csrf, email: str,
    role: Annotated[str, Form()], scope: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    async def work(login: Login, actor: Actor) -> str:
        changed = await service.change_role(
            session, tenant=login.principal.tenant, email=email, role=role,
            scope=parse_scope(scope), actor=actor,
        )  # fmt: skip
        if changed is None:
            raise ValueError(email)
        return "saved"

    return await _act(request, session, state, csrf, work)


@router.post(f"{PAGE}/{{email}}/reset")
async def reset(
    request: Request, session: SessionDep, state: NotifyStateDep, csrf: Csrf, email: str
) -> Response:
    async def work(login: Login, actor: Actor) -> str:
        await links.reset(
            session, state.settings, tenant=login.principal.tenant, email_address=email,
            actor=actor,
        )  # fmt: skip
        return "reset_sent"

    return await _act(request, session, state, csrf, work)


@router.post(f"{PAGE}/{{email}}/deactivate")
async def deactivate(
    request: Request, session: SessionDep, state: NotifyStateDep, csrf: Csrf, email: str
) -> Response:
    async def work(login: Login, actor: Actor) -> str:
        if not await service.deactivate_user(
            session, tenant=login.principal.tenant, email=email, actor=actor
        ):
            raise ValueError(email)
        return "closed"

    return await _act(request, session, state, csrf, work)
