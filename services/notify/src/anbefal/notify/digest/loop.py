"""The digest's closed-loop line: notify's own loop-stats figures for the covered days, in
words."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Scope
from anbefal.notify.dashboard.words import number
from anbefal.notify.digest.schedule import Period as DigestPeriod
from anbefal.notify.digest.words import words
from anbefal.notify.models import Tenant
from anbefal.notify.performance.period import Period
from anbefal.notify.performance.repository import Selection, counts


def _duration(seconds: float, locale: str) -> str:
    hours = seconds / 3600
    if hours < 1:
        return f"{round(seconds / 60)} min"
    unit = "timer" if locale == "da" else "hours"
    return f"{number(hours, locale)} {unit}"


async def loop_line(
    session: AsyncSession, tenant: Tenant, when: DigestPeriod, scope: Scope, now: datetime
) -> str:
    w = words(tenant.locale)
    covered = Period(when.covers_from, when.covers_to, ZoneInfo(tenant.time_zone), None)
    whole = (await counts(session, Selection(tenant.tenant, "nps", covered, scope, None), now))[
        None
    ]
    if not whole.detractors_with_task:
        return w["loop_none"]
    share = whole.contacted_within_due / whole.with_due if whole.with_due else 0.0
    median = whole.median_first_contact_s
    return w["loop_line"].format(
        tasks=whole.detractors_with_task,
        share=f"{number(share * 100, tenant.locale, 0)} %",
        median=_duration(median, tenant.locale) if median is not None else "–",
    )
