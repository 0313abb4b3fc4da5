"""Times as a reader reads them, pure: in their time zone, with the zone named, and a due time
also in words ("i morgen kl. 14:00", "tomorrow at 14:00"), in Danish and English.

Pages and staff mail use the staff user's zone, else the tenant's, else the deployment's
default zone (`ANBEFAL_DEFAULT_TIME_ZONE`); UTC only when none is known. A small table of
words rather than a locale library: two languages, a handful of phrases.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "da": ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
           "september", "oktober", "november", "december"],
}  # fmt: skip
_DAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "da": ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"],
}
_WORDS = {
    "en": {
        "today": "today at {t}", "tomorrow": "tomorrow at {t}", "yesterday": "yesterday at {t}",
        "weekday": "on {d} at {t}", "last": "last {d} at {t}", "in_days": "in {n} days",
        "days_ago": "{n} days ago",
    },
    "da": {
        "today": "i dag kl. {t}", "tomorrow": "i morgen kl. {t}", "yesterday": "i går kl. {t}",
        "weekday": "på {d} kl. {t}", "last": "sidste {d} kl. {t}", "in_days": "om {n} dage",
        "days_ago": "for {n} dage siden",
    },
}  # fmt: skip


def zone(*names: str | None) -> tzinfo:
    """The first of `names` that is a known IANA zone (the viewer's, the tenant's, the
    deployment's default, in that order); UTC only when none is."""
    for name in names:
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return UTC


def _lang(locale: str | None) -> str:
    return "da" if (locale or "").lower().startswith("da") else "en"


def date_time(at: datetime, tz: tzinfo, locale: str | None) -> str:
    """`3. december 2026 kl. 14:00 CET` / `3 December 2026, 14:00 CET`."""
    local = at.astimezone(tz)
    lang = _lang(locale)
    month = _MONTHS[lang][local.month - 1]
    name = local.tzname() or "UTC"
    if lang == "da":
        return f"{local.day}. {month} {local.year} kl. {local:%H:%M} {name}"
    return f"{local.day} {month} {local.year}, {local:%H:%M} {name}"


def relative(at: datetime, tz: tzinfo, locale: str | None, now: datetime) -> str:
    """`at` against `now` in words, by calendar days in the reader's zone: today, tomorrow,
    yesterday, a weekday within the week, else a number of days."""
    local, today = at.astimezone(tz), now.astimezone(tz)
    lang = _lang(locale)
    words = _WORDS[lang]
    days = (local.date() - today.date()).days
    clock = f"{local:%H:%M}"
    day = _DAYS[lang][local.weekday()]
    if days == 0:
        return words["today"].format(t=clock)
    if days == 1:
        return words["tomorrow"].format(t=clock)
    if days == -1:
        return words["yesterday"].format(t=clock)
    if 1 < days < 7:
        return words["weekday"].format(d=day, t=clock)
    if -7 < days < -1:
        return words["last"].format(d=day, t=clock)
    return words["in_days" if days > 0 else "days_ago"].format(n=abs(days))


def due(at: datetime, tz: tzinfo, locale: str | None, now: datetime) -> str:
    """A due time as pages and mail show it: the words, then the date with its zone."""
    return f"{relative(at, tz, locale, now)} ({date_time(at, tz, locale)})"
