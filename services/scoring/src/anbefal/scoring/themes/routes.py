"""`GET /v1/tenants/{t}/themes` (with the answers API's filters) and a tenant's named themes,
`GET`/`PUT /v1/tenants/{t}/themes/config`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from anbefal.common import audit
from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.scoring.answers_api import repository
from anbefal.scoring.answers_api.request import FiltersDep, Resolved, resolve
from anbefal.scoring.dependencies import Reader, ScoringStateDep
from anbefal.scoring.models import OUTBOX
from anbefal.scoring.scores_api.request import check_dimension
from anbefal.scoring.themes import store
from anbefal.scoring.themes.catalogue import Theme
from anbefal.scoring.themes.contrast import key_phrases
from anbefal.scoring.themes.matching import Matcher
from anbefal.scoring.themes.schemas import (
    ProposedOut,
    QuoteOut,
    SegmentCountsOut,
    ThemeIn,
    ThemeOut,
    ThemesConfig,
    ThemesConfigOut,
    ThemesOut,
)
from anbefal.scoring.themes.summary import Counts, ThemeSummary, summarise, withheld

router = APIRouter(tags=["themes"])
Admin = Annotated[Principal, allow(Role.ADMIN)]
# The newest comments a themes request reads: enough for any period's picture, bounded work.
SAMPLE = 20_000


def counts_out(c: Counts, k: int | None) -> dict[str, int | None]:
    return {
        "total": withheld(c.total, k),
        "promoters": withheld(c.promoters, k),
        "passives": withheld(c.passives, k),
        "detractors": withheld(c.detractors, k),
    }


def theme_out(s: ThemeSummary, resolved: Resolved, by: str | None) -> ThemeOut:
    k = resolved.k if resolved.query.kind == "enps" else None
    segments = None
    if by is not None:
        view = resolved.view
        segments = [
            SegmentCountsOut(value=value, **counts_out(c, k))
            for value, c in sorted(s.segments.items())
            # eNPS: only segments the grid shows to this reader.
            if view is None or view.shown(by, value) is not None
        ]
    shown = k is None or s.counts.total >= k
    quotes = [QuoteOut(text=t, category=None if k else of) for t, of in s.quotes] if shown else []
    return ThemeOut(
        name=s.name, keywords=list(s.keywords), segments=segments, quotes=quotes,
        **counts_out(s.counts, k),
    )  # fmt: skip


@router.get(
    "/v1/tenants/{tenant}/themes",
    response_model=ThemesOut,
    summary="What the comments are about: themes per category and segment, with quotes",
)
async def get_themes(
    tenant: TenantPath,
    principal: Reader,
    session: SessionDep,
    state: ScoringStateDep,
    f: FiltersDep,
    by: Annotated[
        str | None, Query(max_length=40, description="Count per value of this dimension too")
    ] = None,
) -> ThemesOut:
    """The comments the answers API would list for the same filters, grouped by the tenant's
    named themes (keywords matched by their Danish and English stems), largest first, and the
    key phrases outside them that set detractors apart from promoters (a TF-IDF contrast).
    eNPS: every count below k is null, segments only where the grid shows them, quotes only of
    themes k people mention, and no key phrases unless each side has k comments."""
    resolved = await resolve(f, tenant, principal, session, state.settings)
    body = ThemesOut(
        tenant=tenant, kind=f.kind, period=resolved.period,
        filter=resolved.filter_items,
        comments=0, suppressed_reason=resolved.hidden, themes=[],
        proposed=ProposedOut(detractors=[], promoters=[]),
    )  # fmt: skip
    if resolved.hidden is not None:
        return body
    themes, _ = await store.load(session, tenant)
    matcher = Matcher(themes)
    rows = await repository.comments(session, resolved.query, SAMPLE)
    body.comments = len(rows)
    summaries = summarise(rows, matcher, by=by)
    if by is not None and not any(s.segments for s in summaries):
        await check_dimension(session, tenant, by)  # a typo is 422, not "no segments"
    body.themes = [theme_out(s, resolved, by) for s in summaries]
    detractors = [text for text, score, _ in rows if score <= 6]
    promoters = [text for text, score, _ in rows if score >= 9]
    least = resolved.k if f.kind == "enps" else 1
    if len(detractors) >= least and len(promoters) >= least:
        phrases = key_phrases(detractors, promoters, known=matcher)
        body.proposed = ProposedOut(detractors=phrases.detractors, promoters=phrases.promoters)
    return body


@router.get(
    "/v1/tenants/{tenant}/themes/config",
    response_model=ThemesConfigOut,
    summary="The tenant's named themes (the built-in ones until it names its own)",
)
async def get_config(tenant: TenantPath, principal: Reader, session: SessionDep) -> ThemesConfigOut:
    themes, default = await store.load(session, tenant)
    return ThemesConfigOut(
        themes=[ThemeIn(name=t.name, keywords=list(t.keywords)) for t in themes], default=default
    )


@router.put(
    "/v1/tenants/{tenant}/themes/config",
    response_model=ThemesConfigOut,
    summary="Name the tenant's themes (admins): each a name and its keywords",
)
async def put_config(
    tenant: TenantPath, body: ThemesConfig, principal: Admin, session: SessionDep
) -> ThemesConfigOut:
    """Replaces every named theme. Keywords are words or phrases in Danish or English, matched
    by their stems (`pris` also finds "Prisen" and "priserne", `delivery` "deliveries")."""
    before, _ = await store.load(session, tenant)
    await store.save(session, tenant, [Theme(t.name, tuple(t.keywords)) for t in body.themes],
                     principal.sub)  # fmt: skip
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=principal, action="themes.changed",
        target="themes", detail={"themes": {"from": [t.name for t in before],
                                            "to": [t.name for t in body.themes]}},
    )  # fmt: skip
    return ThemesConfigOut(themes=body.themes, default=False)
