"""`/admin/settings`: the admin's form over the tenant's settings (Danish and English, phone
width). Saving sends only what the admin changed, as `PATCH .../settings` does (the same
`tenants.service.patch`): each field's value as the form showed it travels with the form, so a
setting someone else changed meanwhile is not overwritten with the old value. A refused field
gets its message next to it, in the page's language."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from anbefal.common.deps import SessionDep
from anbefal.common.errors import NotFound, Unprocessable
from anbefal.common.events import TenantSettings
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.staff.sessions import Login
from anbefal.notify.tenants import service
from anbefal.notify.ui.admin_access import admin_posting, admin_viewing
from anbefal.notify.ui.pages import LOCALE_COOKIE, render

router = APIRouter(include_in_schema=False)
PAGE = "/admin/settings"
# The form's fields, in its order, and how a typed value becomes the setting's.
EMAILS = ("sender_email", "default_director", "default_salesperson")
NUMBERS = ("follow_up_days", "anonymity_k", "digest_every_days", "digest_hour")
FIELDS = ("sender_name", "sender_email", "default_director", "default_salesperson", "locale",
          "time_zone", "follow_up_days", "anonymity_k", "digest_recipients",
          "digest_every_days", "digest_hour")  # fmt: skip
ZONES = sorted(available_timezones())

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Settings",
        "save": "Save changes",
        "saved": "Saved.",
        "unchanged": "Nothing was changed.",
        "sender": "Mail sender",
        "owners": "Owners",
        "follow_up": "Follow-up and anonymity",
        "digest": "Leadership digest",
        "sender_name": "Sender name",
        "sender_email": "Sender address",
        "default_director": "Default director (email)",
        "default_salesperson": "Default salesperson (email)",
        "locale": "Default language",
        "time_zone": "Time zone",
        "follow_up_days": "Follow-up days for passives",
        "anonymity_k": "eNPS: fewest answers shown (k)",
        "digest_recipients": "Recipients (emails, separated by commas)",
        "digest_every_days": "Every how many days",
        "digest_hour": "At hour (0-23)",
        "da": "Danish",
        "en": "English",
        "empty_clears": "Empty: none.",
        "admins_only": "Only administrators change the settings.",
        "forged": "This form did not come from this page, or it has expired. Reload the page.",
        "bad_email": "Enter a valid email address, or leave it empty.",
        "bad_emails": "Enter valid email addresses separated by commas (at most 50).",
        "bad_time_zone": "Unknown time zone: use a name such as Europe/Copenhagen.",
        "bad_follow_up_days": "A whole number of days from 1 to 60.",
        "bad_anonymity_k": "A whole number, at least 3.",
        "bad_digest_every_days": "A whole number of days from 1 to 92.",
        "bad_digest_hour": "A whole hour from 0 to 23.",
        "bad_locale": "Choose Danish or English.",
        "bad_other": "Check this field.",
        "not_saved": "Nothing was saved: check the fields marked.",
    },
    "da": {
        "heading": "Indstillinger",
        "save": "Gem ændringer",
        "saved": "Gemt.",
        "unchanged": "Intet blev ændret.",
        "sender": "Afsender af mails",
        "owners": "Ansvarlige",
        "follow_up": "Opfølgning og anonymitet",
        "digest": "Ledelsesoverblik på mail",
        "sender_name": "Afsenderens navn",
        "sender_email": "Afsenderens adresse",
        "default_director": "Standardleder (e-mail)",
        "default_salesperson": "Standardsælger (e-mail)",
        "locale": "Standardsprog",
        "time_zone": "Tidszone",
        "follow_up_days": "Dage til opfølgning på passive",
        "anonymity_k": "eNPS: færreste svar, der vises (k)",
        "digest_recipients": "Modtagere (e-mails, adskilt af komma)",
        "digest_every_days": "Hvor mange dages mellemrum",
        "digest_hour": "Klokken (0-23)",
        "da": "Dansk",
        "en": "Engelsk",
        "empty_clears": "Tomt: ingen.",
        "admins_only": "Kun administratorer kan ændre indstillingerne.",
        "forged": "Formularen kom ikke fra denne side, eller den er udløbet. Genindlæs siden.",
        "bad_email": "Skriv en gyldig e-mailadresse, eller lad feltet stå tomt.",
        "bad_emails": "Skriv gyldige e-mailadresser adskilt af komma (højst 50).",
        "bad_time_zone": "Ukendt tidszone: brug et navn som Europe/Copenhagen.",
        "bad_follow_up_days": "Et helt antal dage fra 1 til 60.",
        "bad_anonymity_k": "Et helt tal, mindst 3.",
        "bad_digest_every_days": "Et helt antal dage fra 1 til 92.",
        "bad_digest_hour": "En hel time fra 0 til 23.",
        "bad_locale": "Vælg dansk eller engelsk.",
        "bad_other": "Tjek feltet.",
        "not_saved": "Intet blev gemt: tjek de markerede felter.",
    },
}


def _words(request: Request) -> dict[str, str]:
    return WORDS.get(request.cookies.get(LOCALE_COOKIE, "en"), WORDS["en"])


def _shown(record: TenantSettings) -> dict[str, str]:
    """Each field as the form shows it."""
    values = record.model_dump(mode="json")
    shown = {name: "" if values[name] is None else str(values[name]) for name in FIELDS}
    shown["digest_recipients"] = ", ".join(record.digest_recipients)
    return shown


def _message(text: dict[str, str], field: str) -> str:
    if field in EMAILS:
        return text["bad_email"]
    if field == "digest_recipients":
        return text["bad_emails"]
    return text.get(f"bad_{field}", text["bad_other"])


def _typed(field: str, value: str) -> Any:
    """The setting's value from what was typed; a number that is not one is kept as text, for
    the check to refuse with the field's own message."""
    value = value.strip()
    if field == "digest_recipients":
        return [part for part in re.split(r"[\s,;]+", value) if part]
    if field in NUMBERS:
        return int(value) if re.fullmatch(r"-?\d{1,6}", value) else value
    return value or None


async def _record(session: SessionDep, tenant: str) -> TenantSettings:
    try:
        return await service.get(session, tenant)
    except NotFound:  # what `change` would create: the defaults
        return TenantSettings(tenant=tenant, display_name=tenant, updated_at=datetime.now(UTC))


def _page(
    request: Request, login: Login, values: dict[str, str], status: int = 200, **context: Any
) -> Response:
    return render(
        request, "admin_settings.html", status, login=login, words=_words(request),
        values=values, zones=ZONES, errors=context.pop("errors", {}), **context,
    )  # fmt: skip


@router.get(PAGE)
async def settings_page(request: Request, session: SessionDep, done: str = "") -> Response:
    text = _words(request)
    login = await admin_viewing(request, session, text["admins_only"])
    if isinstance(login, Response):
        return login
    record = await _record(session, login.principal.tenant)
    notice = text[done] if done in ("saved", "unchanged") else None
    return _page(request, login, _shown(record), notice=notice)


@router.post(PAGE)
async def save_settings(request: Request, session: SessionDep, state: NotifyStateDep) -> Response:
    text = _words(request)
    form = await request.form()
    posted = {name: str(form.get(name, "")) for name in FIELDS}
    was = {name: str(form.get(f"was_{name}", "")) for name in FIELDS}
    login = await admin_posting(
        request, session, state.settings, str(form.get("csrf", "")),
        admins_only=text["admins_only"], forged=text["forged"],
    )  # fmt: skip
    if isinstance(login, Response):
        return login
    changed = {name: _typed(name, posted[name]) for name in FIELDS if posted[name] != was[name]}
    if not changed:
        return RedirectResponse(f"{PAGE}?done=unchanged", status_code=303)
    try:
        await service.patch(session, login.principal.tenant, changed, by=login.principal)
    except Unprocessable as exc:
        fields = {str(d.get("field", "")).split(".")[0] for d in exc.details}
        errors = {f: _message(text, f) for f in fields if f in FIELDS}
        # The form shows what was typed, and keeps what it showed before as the base.
        return _page(request, login, posted, 422, was=was, errors=errors, error=text["not_saved"])
    return RedirectResponse(f"{PAGE}?done=saved", status_code=303)
