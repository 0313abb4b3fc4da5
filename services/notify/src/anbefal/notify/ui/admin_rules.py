"""`/admin/rules`: the admin's form over the tenant's routing rules (closed_loop's API, called as
the logged-in admin: `dashboard/client.py`). Per rule its score range, action, who acts, due
hours, maximum answer age and whether it is on; "Preview" runs closed_loop's dry run with the
proposed rules over the last 30 days and shows it without saving; "Save" stores a new version;
the versions are listed with what each changed. closed_loop validates: a refused field is
marked, in the page's language, by the error's type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from anbefal.common.deps import SessionDep
from anbefal.notify.dashboard.client import Apis, Refused, Unavailable
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.staff.sessions import Login
from anbefal.notify.ui.admin_access import admin_posting, admin_viewing
from anbefal.notify.ui.admin_rules_words import admin_words
from anbefal.notify.ui.pages import language, render

router = APIRouter(include_in_schema=False)
PAGE = "/admin/rules"
PREVIEW_DAYS = 30
ACTIONS = ("call_task", "follow_up_task", "email")
TASKS = ("call_task", "follow_up_task")
OWNERS = ("director", "salesperson")
MAIL_TEMPLATES = ("thank_you", "ask_why")
# What the form edits of a rule; the rest (segments, priority, cool-down ...) stays as saved.
EDITED = ("enabled", "min_score", "max_score", "action", "assignee_role", "template",
          "due_hours", "max_age_hours")  # fmt: skip
# A rule-wide refusal (closed_loop's error type) is shown at the field that can mend it.
FIELD_OF_TYPE = {"score_range": "min_score", "template_needed": "template",
                 "due_needed": "due_hours", "cooldown_tasks_only": "action",
                 "chat_unsupported": "action"}  # fmt: skip


def _words(request: Request) -> dict[str, str]:
    return admin_words(language(request))


def _closed_loop(state: NotifyStateDep, login: Login) -> Apis:
    return Apis(state.settings, login.principal, state.settings.closed_loop_url)


def proposed(form: FormData, in_force: dict[str, Any]) -> dict[str, Any]:
    """The rule set the form proposes: the rules in force (by id) with the form's fields. Values
    go as typed; closed_loop validates them (a word in a number field is its refusal to show)."""
    by_id = {r["id"]: r for r in in_force["rules"]}
    rules = []
    for i in range(len(in_force["rules"])):
        rule = dict(by_id.get(str(form.get(f"rules-{i}-id")), in_force["rules"][i]))
        field = {n: str(form.get(f"rules-{i}-{n}", "")).strip() for n in EDITED}
        rule.update({n: field[n] for n in ("min_score", "max_score", "max_age_hours")})
        rule["enabled"] = field["enabled"] == "on"
        rule["action"], rule["assignee_role"] = field["action"], field["assignee_role"]
        rule["template"] = (field["template"] or None) if rule["action"] == "email" else None
        rule["due_hours"] = field["due_hours"] or None
        # An empty due time on a task: due after the tenant's follow-up days.
        rule["due_follow_up_days"] = rule["due_hours"] is None and rule["action"] in TASKS
        rules.append(rule)
    keep = ("enps_individual_follow_up", "holiday_country")
    return {"rules": rules, **{k: in_force[k] for k in keep}}


def field_errors(refusal: Refused, text: dict[str, str]) -> dict[str, str]:
    """closed_loop's refusal as `{form field id: the reason in the page's language}`."""
    found: dict[str, str] = {}
    for detail in refusal.details:
        parts = str(detail.get("field", "")).split(".")
        if len(parts) < 2 or parts[0] != "rules" or not parts[1].isdigit():
            continue
        kind = str(detail.get("type", ""))
        name = parts[2] if len(parts) > 2 else FIELD_OF_TYPE.get(kind, "min_score")
        found.setdefault(f"rules-{parts[1]}-{name}", _why(kind, name, text))
    return found


def refusal_words(refusal: Refused, text: dict[str, str]) -> str:
    """A refusal of the whole request in the page's language where we have its words (a busy
    or too long dry run), else the API's own message."""
    return text.get(f"refused_{refusal.code}", refusal.message)


def _why(kind: str, name: str, text: dict[str, str]) -> str:
    if f"why_{kind}" in text and kind not in ("missing",):
        return text[f"why_{kind}"]
    if kind == "int_parsing":
        return text["why_number"]
    if name in ("min_score", "max_score"):
        return text["why_score"]
    if name in ("due_hours", "max_age_hours"):
        return text["why_hours"]
    return text["why_other"]


async def _page(
    request: Request,
    state: NotifyStateDep,
    login: Login,
    status: int = 200,
    rules: dict[str, Any] | None = None,
    **context: Any,
) -> Response:
    text = _words(request)
    try:
        async with _closed_loop(state, login) as api:
            in_force = await api.json("rules", {})
            history = await api.json("rules/history", {"limit": "20"})
    except (Unavailable, Refused):
        return render(request, "refused.html", 503, login=login, error=text["unavailable"])
    return render(
        request, "admin_rules.html", status, login=login, words=text, in_force=in_force,
        form=rules or in_force, history=history, actions=ACTIONS, owners=OWNERS,
        templates=MAIL_TEMPLATES, errors=context.pop("errors", {}), **context,
    )  # fmt: skip


@router.get(PAGE)
async def rules_page(
    request: Request, session: SessionDep, state: NotifyStateDep, done: str = ""
) -> Response:
    login = await admin_viewing(request, session, _words(request)["admins_only"])
    if not isinstance(login, Login):
        return login
    return await _page(request, state, login, notice=_words(request)["saved"] if done else None)


@router.post(PAGE)
async def rules_posted(request: Request, session: SessionDep, state: NotifyStateDep) -> Response:
    """Preview (the dry run, nothing saved) or save, by the button pressed."""
    text = _words(request)
    form = await request.form()
    login = await admin_posting(
        request, session, state.settings, str(form.get("csrf", "")),
        admins_only=text["admins_only"], forged=text["forged"],
    )  # fmt: skip
    if not isinstance(login, Login):
        return login
    rules = None
    try:
        async with _closed_loop(state, login) as api:
            in_force = await api.json("rules", {})
            rules = proposed(form, in_force)
            if form.get("intent") == "save":
                if str(in_force["version"]) != str(form.get("version")):
                    stale = text["stale"].format(who=in_force["updated_by"])
                    return await _page(request, state, login, 409, rules=rules, error=stale)
                await api.send("PUT", "rules", json=rules)
                return RedirectResponse(f"{PAGE}?done=saved", status_code=303)
            now = datetime.now(UTC)
            period = {"from": (now - timedelta(days=PREVIEW_DAYS)).isoformat(),
                      "to": now.isoformat(), "examples": 0}  # fmt: skip
            dry_run = (await api.send("POST", "rules/dry-run", json={**rules, **period})).json()
    except Refused as refusal:
        errors = field_errors(refusal, text)
        error = text["refused"] if errors else refusal_words(refusal, text)
        return await _page(request, state, login, 422, rules=rules, errors=errors, error=error)
    except Unavailable:
        return render(request, "refused.html", 503, login=login, error=text["unavailable"])
    return await _page(request, state, login, rules=rules, dry_run=dry_run)
