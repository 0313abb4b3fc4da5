"""What one digest says, read as its reader may read it.

The figures come from scoring's API with a token issued for the digest (the tenant, role
director, and the recipients' scope when they are team leads), so the anonymity rules and a
team lead's scope apply to a digest exactly as to the dashboard. The charts are the dashboard's
own (`charts.py`), as PNG. Closed-loop performance and overdue calls are notify's own tasks.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal, Role, Scope
from anbefal.notify import charts, localtime
from anbefal.notify.dashboard.client import Apis, Refused, Unavailable
from anbefal.notify.dashboard.service import (
    Kind,
    change_words,
    hidden_words,
    trend_labels,
    trend_params,
    trend_points,
)
from anbefal.notify.dashboard.words import dashboard_words, day, number
from anbefal.notify.digest.schedule import Period
from anbefal.notify.digest.words import words
from anbefal.notify.models import Task, Tenant
from anbefal.notify.settings import NotifySettings

DIGEST_SUB = "digest"
OVERDUE_LISTED = 10
THEMES_LISTED = 3
QUOTE_CHARS = 160
OPEN = ("open", "claimed")


@dataclass(frozen=True)
class Headline:
    label: str
    nps: str | None  # in the reader's number format; None: no figure
    detail: str  # n and interval, or why there is no figure
    change: str = ""  # against the previous period, significant or not, in words


@dataclass
class Digest:
    locale: str
    subject: str
    heading: str
    covers: str
    scope: str
    headlines: list[Headline]
    charts: dict[str, str] = field(default_factory=dict)  # content id → base64 PNG
    chart_titles: dict[str, str] = field(default_factory=dict)
    themes_title: str = ""
    themes: list[str] = field(default_factory=list)
    loop_title: str = ""
    loop: str = ""
    overdue_title: str = ""
    overdue: list[str] = field(default_factory=list)
    overdue_more: int = 0
    link: str = ""
    link_text: str = ""
    footer: str = ""


def _headline(w: dict[str, str], label: str, body: dict[str, Any] | str, locale: str) -> Headline:
    if isinstance(body, str):
        return Headline(label, None, body)
    segments = body.get("segments") or []
    if not segments:
        return Headline(label, None, w["no_answers"])
    s = segments[0]
    if s.get("suppressed"):
        # Why, in the dashboard's own sentence for the reason code.
        why = hidden_words(dashboard_words(locale), s.get("suppressed_reason"))
        return Headline(label, None, w["hidden"].format(why=why))
    parts = [w["n"].format(n=s["n"])]
    if s.get("interval"):
        low, high = s["interval"]["low"], s["interval"]["high"]
        parts.append(w["interval"].format(low=number(low, locale), high=number(high, locale)))
    # The change against the previous period, in the dashboard's own words.
    change = change_words(dashboard_words(locale), s, locale)
    return Headline(label, number(s["nps"], locale), "; ".join(parts), change)


async def _read(
    apis: Apis, w: dict[str, str], path: str, params: dict[str, str], *, required: bool = False
) -> Any:
    """The API's answer, or the words to show instead. `required`: scoring being down raises
    `Unavailable`, so the digest waits for its figures rather than going out without them."""
    try:
        return await apis.json(path, params)
    except Unavailable:
        if required:
            raise
        return w["unavailable"]
    except Refused as exc:
        return exc.message


def _themes(w: dict[str, str], body: dict[str, Any] | str) -> list[str]:
    """The themes most detractors mention, each with a quote; nothing when unreadable."""
    if isinstance(body, str):
        return []
    named = [t for t in body.get("themes") or [] if t.get("total")]
    named.sort(key=lambda t: (-(t.get("detractors") or 0), -(t.get("total") or 0)))
    lines = []
    for theme in named[:THEMES_LISTED]:
        line = w["theme_line"].format(
            name=theme["name"], detractors=theme.get("detractors") or 0,
            promoters=theme.get("promoters") or 0,
        )  # fmt: skip
        quotes = theme.get("quotes") or []
        if quotes:
            text = " ".join(str(quotes[0]["text"]).split())
            if len(text) > QUOTE_CHARS:
                text = text[: QUOTE_CHARS - 1].rstrip() + "…"
            line += f" “{text}”"
        lines.append(line)
    return lines


async def _chart(
    apis: Apis, w: dict[str, str], locale: str, kind: Kind, period: Period, title: str
) -> str | None:
    body = await _read(apis, w, "scores/timeseries", trend_params(kind, period.covers_to))
    if isinstance(body, str):
        return None
    points = trend_points(body)
    if not any(p.n for p in points):
        return None
    labels = trend_labels(dashboard_words(locale), kind, title)
    png = await asyncio.to_thread(charts.trend_png, points, labels)
    return base64.b64encode(png).decode()


async def _overdue(
    session: AsyncSession, tenant: str, scope: Scope, now: datetime
) -> tuple[list[Task], int]:
    # Customers' calls only: an employee's detractor task named in a leaders' mail would expose
    # the employee.
    where = [Task.tenant == tenant, Task.kind == "nps", Task.status.in_(OPEN), Task.due_at < now]
    where += [Task.segments[d].astext == v for d, v in scope]
    total = await session.scalar(select(func.count()).select_from(Task).where(*where)) or 0
    rows = await session.scalars(
        select(Task).where(*where).order_by(Task.due_at).limit(OVERDUE_LISTED)
    )
    return list(rows), int(total)


async def gather(
    session: AsyncSession,
    settings: NotifySettings,
    tenant: Tenant,
    period: Period,
    scope: Scope,
    now: datetime,
    loop_line: str,
) -> Digest:
    """Everything one digest shows. `loop_line`: closed-loop performance, already in words.
    Raises `Unavailable` when scoring's API cannot be read."""
    locale = tenant.locale if tenant.locale in ("da", "en") else "en"
    w = words(locale)
    first, last = day(period.covers_from, locale), day(period.covers_to, locale)
    cell = period.covers_to.strftime("%Y-%m")
    principal = Principal(tenant.tenant, Role.DIRECTOR, digest_sub(scope), scope)
    async with Apis(settings, principal) as apis:
        nps, enps, nps_png, enps_png, themes = await asyncio.gather(
            _read(apis, w, "scores", {"kind": "nps", "dimension": "all",
                                       "from": str(period.covers_from),
                                       "to": str(period.covers_to)}, required=True),
            _read(apis, w, "scores", {"kind": "enps", "dimension": "all", "period": cell}),
            _chart(apis, w, locale, "nps", period, w["nps"]),
            _chart(apis, w, locale, "enps", period, w["enps"].format(cell=cell)),
            _read(apis, w, "themes", {"kind": "nps", "from": str(period.covers_from),
                                       "to": str(period.covers_to)}),
        )  # fmt: skip
    overdue, total = await _overdue(session, tenant.tenant, scope, now)
    zone = localtime.zone(tenant.time_zone, settings.default_time_zone)
    lines = [
        w["overdue_line"].format(
            respondent=t.respondent.get("name") or t.respondent.get("key") or "?",
            score=t.score,
            due=localtime.date_time(t.due_at, zone, locale) if t.due_at else "",
            assignee=t.assignee or w["unassigned"],
        )
        for t in overdue
    ]
    images = {cid: png for cid, png in (("nps-trend", nps_png), ("enps-trend", enps_png)) if png}
    return Digest(
        locale=locale,
        subject=w["subject"].format(tenant=tenant.display_name, first=first, last=last),
        heading=w["heading"].format(tenant=tenant.display_name),
        covers=w["covers"].format(first=first, last=last),
        scope=w["scope"].format(scope=", ".join(f"{d} = {v}" for d, v in scope)) if scope else "",
        headlines=[
            _headline(w, w["nps"], nps, locale),
            _headline(w, w["enps"].format(cell=cell), enps, locale),
        ],
        charts=images,
        chart_titles={"nps-trend": w["nps"], "enps-trend": w["enps"].format(cell=cell)},
        themes_title=w["themes"],
        themes=_themes(w, themes),
        loop_title=w["loop"],
        loop=loop_line,
        overdue_title=w["overdue"],
        overdue=lines or [w["overdue_none"]],
        overdue_more=max(0, total - len(lines)),
        link=settings.public_url.rstrip("/") + "/dashboard",
        link_text=w["open_page"],
        footer=w["footer"].format(days=tenant.digest_every_days, tenant=tenant.display_name),
    )


def digest_sub(scope: Scope) -> str:
    """The token's holder: the digest, and for whom when scoped (the audit of reads names it)."""
    return DIGEST_SUB if not scope else f"{DIGEST_SUB}:" + ",".join(f"{d}={v}" for d, v in scope)
