"""The dashboard's sections about the reasons and the follow-up: the themes in the comments,
the latest comments (filterable), and the closed loop's performance.

Comments and themes come from scoring's answers and themes APIs as the logged-in person (the
API applies eNPS anonymity and a team lead's scope); the closed-loop figures are notify's own
`loop-stats` route, called in process with the person's principal, so the same scope applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.auth import Principal
from anbefal.common.errors import ServiceError
from anbefal.notify.dashboard.client import Apis, Refused, Unavailable
from anbefal.notify.performance.routes import loop_stats

CATEGORIES = ("detractor", "passive", "promoter")
COMMENTS_SHOWN = 10
THEMES_SHOWN = 6
INSIGHT_WINDOW = "90d"  # comments and themes: a quarter's worth


@dataclass(frozen=True)
class CommentFilter:
    category: str = ""
    q: str = ""

    @classmethod
    def of(cls, category: str, q: str) -> CommentFilter:
        return cls(category if category in CATEGORIES else "", q.strip()[:200])

    def params(self) -> dict[str, str]:
        out = {"kind": "nps", "window": INSIGHT_WINDOW, "has_comment": "true"}
        out["limit"] = str(COMMENTS_SHOWN)
        if self.category:
            out["category"] = self.category
        if self.q:
            out["q"] = self.q
        return out


@dataclass
class Insight:
    """A section's API answer, or the words to show instead."""

    error: str | None = None
    body: dict[str, Any] = field(default_factory=dict)


async def _read(words: dict[str, str], apis: Apis, path: str, params: dict[str, str]) -> Insight:
    try:
        return Insight(body=await apis.json(path, params))
    except Unavailable:
        return Insight(error=words["unavailable"])
    except Refused as exc:
        return Insight(error=exc.message)


async def comments(words: dict[str, str], apis: Apis, wanted: CommentFilter) -> Insight:
    return await _read(words, apis, "answers", wanted.params())


async def themes(words: dict[str, str], apis: Apis) -> Insight:
    found = await _read(words, apis, "themes", {"kind": "nps", "window": INSIGHT_WINDOW})
    if found.error is None:
        found.body["themes"] = [t for t in found.body["themes"] if t.get("total")][:THEMES_SHOWN]
    return found


async def performance(
    words: dict[str, str], session: AsyncSession, principal: Principal
) -> Insight:
    """Notify's loop-stats for the last 30 days, as the API answers this person."""
    try:
        stats = await loop_stats(
            tenant=principal.tenant, principal=principal, session=session,
            window="30d", first=None, last=None, by=None, kind="nps",
        )  # fmt: skip
    except ServiceError as exc:
        return Insight(error=exc.message)
    return Insight(body=stats.model_dump(mode="json"))
