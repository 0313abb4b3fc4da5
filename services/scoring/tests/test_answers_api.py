"""The answers API against PostgreSQL: NPS answers with comment, respondent and account, every
filter, free text with Danish letters, the keyset cursor and a team lead's scope; eNPS comments
only inside published groups the grid shows, with no identity, score or date finer than the
cell."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import topics
from anbefal.common.auth import Scope, issue_token
from anbefal.common.contact import seal_events
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.events import (
    Respondent,
    Source,
    SurveyResponse,
    TenantSettings,
    response_event_id,
)
from anbefal.common.kafka import Message
from anbefal.devstack.testing import TEST_DATA_KEYS, TEST_JWT_SECRET
from anbefal.scoring import blocks
from anbefal.scoring.handlers import subscriptions
from anbefal.scoring.main import create_app
from anbefal.scoring.settings import ScoringSettings
from anbefal.scoring.state import ScoringState

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(microsecond=0)
TENANT = "svar"


def nps(n: int, score: int, at: datetime, comment: str | None, **segments: str) -> SurveyResponse:
    rid = f"nps-{n}"
    return SurveyResponse(
        event_id=response_event_id(TENANT, "api", rid), version=1, tenant=TENANT, kind="nps",
        score=score, answered_at=at, received_at=at, source=Source(tool="api", response_id=rid),
        respondent=Respondent(
            key=f"c-{n}", name=f"Kunde {n}", email=f"k{n}@example.com", phone="+4512345678",
            account_id=f"acct-{n % 2}",
        ),
        segments=segments, comment=comment,
    )  # fmt: skip


def enps(n: int, score: int, team: str, comment: str) -> SurveyResponse:
    rid = f"enps-{n}"
    return SurveyResponse(
        event_id=response_event_id(TENANT, "api", rid), version=1, tenant=TENANT, kind="enps",
        score=score, answered_at=NOW, received_at=NOW,
        source=Source(tool="api", response_id=rid), respondent=Respondent(key=f"e-{n}"),
        segments={"team": team, "department": "Ops"}, comment=comment,
    )  # fmt: skip


async def feed(db: async_sessionmaker[AsyncSession], *events: Any) -> None:
    """The events sealed as ingest publishes them, then through scoring's handlers."""
    keyring = Keyring.parse(TEST_DATA_KEYS)
    async with db() as session, session.begin():
        sealed = await seal_events(session, DataKeys(keyring), list(events))
        messages = [
            Message(e, topics.TENANTS if isinstance(e, TenantSettings) else topics.RESPONSES,
                    0, i, e.key, ())
            for i, e in enumerate(sealed)
        ]  # fmt: skip
        await subscriptions("Europe/Copenhagen", keyring).dispatch(session, messages)


SETTINGS = TenantSettings(
    tenant=TENANT, display_name="Svar A/S", time_zone="Europe/Copenhagen", updated_at=NOW
)
# Yesterday noon (UTC): the answers before it are all in yesterday, whatever the hour now.
BASE = (NOW - timedelta(days=1)).replace(hour=12, minute=0, second=0)
# 23:30 UTC is 00:30 (or 01:30) the next day in Copenhagen.
LATE = (BASE - timedelta(days=3)).replace(hour=23, minute=30)
NPS = [
    nps(1, 2, BASE - timedelta(hours=1), "Ventetiden på support var alt for lang",
        department="Support", country="SE"),
    nps(2, 3, BASE - timedelta(hours=2), "PRISEN ER FOR HØJ", department="Support", country="SE"),
    nps(3, 10, BASE - timedelta(hours=3), "Fantastisk service fra Mette",
        department="Support", country="DK"),
    nps(4, 8, BASE - timedelta(hours=4), None, department="Support", country="SE"),
    nps(5, 9, LATE, "Great delivery, always on time", department="Sales", country="SE"),
    nps(6, 6, BASE - timedelta(days=40), "Ærlig talt: for dyrt", department="Sales", country="DK"),
]  # fmt: skip


@pytest.fixture
async def client(db: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    settings = ScoringSettings(jwt_secret=TEST_JWT_SECRET, data_keys=TEST_DATA_KEYS)
    app = create_app(settings)
    app.state.runtime = SimpleNamespace(settings=settings, sessionmaker=db)
    app.state.wiring = SimpleNamespace(state=ScoringState(settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://scoring") as c:
        yield c


async def get(
    client: httpx.AsyncClient, role: str = "viewer", scope: Scope = (), **params: Any
) -> httpx.Response:
    token = issue_token(TEST_JWT_SECRET, tenant=TENANT, role=role, sub="lead", scope=scope)
    return await client.get(
        f"/v1/tenants/{TENANT}/answers",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
    )


def comments(body: dict[str, Any]) -> list[str | None]:
    return [a["comment"] for a in body["answers"]]


async def test_nps_answers_filters_and_cursor(
    db: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> None:
    await feed(db, SETTINGS, *NPS)

    body = (await get(client)).json()  # the last 30 days, newest first
    assert comments(body) == [a.comment for a in NPS[:5]]
    assert body["total"] == 5
    first = body["answers"][0]
    assert first["score"] == 2
    assert first["category"] == "detractor"
    assert first["segments"] == {"department": "Support", "country": "SE"}
    # A viewer sees the respondent's name, key and account; scoring holds no contact details.
    assert first["respondent"] == {"key": "c-1", "name": "Kunde 1", "account_id": "acct-1"}
    assert "k1@example.com" not in str(body)
    assert "12345678" not in str(body)
    # Times in the tenant's zone: the answer at 23:30 UTC is the next day in Copenhagen.
    late = body["answers"][4]
    assert datetime.fromisoformat(late["answered_at"]).utcoffset() != timedelta(0)
    assert late["day"] == (LATE + timedelta(days=1)).date().isoformat()
    day = late["day"]
    assert comments((await get(client, **{"from": day, "to": day})).json()) == [NPS[4].comment]

    several = await get(client, filter=["department:Support", "country:SE"])
    assert comments(several.json()) == [NPS[0].comment, NPS[1].comment, None]
    assert comments((await get(client, category="detractor")).json()) == [
        NPS[0].comment, NPS[1].comment,
    ]  # fmt: skip
    assert (await get(client, has_comment="false")).json()["total"] == 1
    assert (await get(client, has_comment="true")).json()["total"] == 4
    # Free text, case-insensitive, Danish letters too.
    assert comments((await get(client, q="prisen er for høj")).json()) == [NPS[1].comment]
    assert comments((await get(client, q="VENTETIDEN PÅ")).json()) == [NPS[0].comment]
    assert comments((await get(client, q="ærlig", window="90d")).json()) == [NPS[5].comment]
    assert comments((await get(client, q="100%")).json()) == []  # a LIKE wildcard is a letter

    # The cursor walks the same answers, each once, with the total on every page.
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2, "window": "90d"}
    while True:
        page = (await get(client, **params)).json()
        assert page["total"] == 6
        assert len(page["answers"]) <= 2
        seen += [a["id"] for a in page["answers"]]
        if page["next"] is None:
            break
        assert page["next_url"].startswith(f"/v1/tenants/{TENANT}/answers?")
        params["cursor"] = page["next"]
    assert seen == [str(a.event_id) for a in NPS]
    assert (await get(client, cursor="not-a-cursor")).status_code == 422


async def test_a_team_lead_reads_only_their_scope(
    db: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> None:
    await feed(db, SETTINGS, *NPS)
    lead: Scope = (("department", "Sales"),)
    assert comments((await get(client, scope=lead, window="90d")).json()) == [
        NPS[4].comment, NPS[5].comment,
    ]  # fmt: skip
    outside = await get(client, scope=lead, filter="department:Support")
    assert outside.status_code == 403
    assert outside.json()["error"]["code"] == "outside_scope"
    both = await get(client, filter=["department:Sales", "department:Support"], window="90d")
    assert both.json()["total"] == 6
    assert (await get(client, role="ingest")).status_code == 403


async def publish(db: async_sessionmaker[AsyncSession], answers: Sequence[SurveyResponse]) -> None:
    """The answers in, and their blocks published straight after, as the score event
    scheduler does a few seconds later."""
    await feed(db, *answers)
    async with db() as session, session.begin():
        await blocks.publish_ready(session, TENANT, 5)


async def test_enps_comments_only_inside_shown_groups(
    db: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> None:
    red = [enps(i, s, "red", f"Rød {i}: god stemning") for i, s in enumerate([9, 9, 10, 10, 9, 3])]
    blue = [enps(10 + i, 7, "blue", f"Blå {i}: for travlt") for i in range(5)]
    green = [enps(20 + i, 2, "green", f"Grøn {i}: dårlig ledelse") for i in range(2)]
    await feed(db, SETTINGS)
    await publish(db, red + blue + green)

    body = (await get(client, kind="enps", filter="team:red")).json()
    assert sorted(comments(body)) == sorted(a.comment for a in red)
    month = NOW.astimezone().strftime("%Y-%m")
    for item in body["answers"]:
        # No identity, no score, no segments that could narrow the group, the month only.
        assert item["respondent"] is None
        assert item["score"] is None
        assert item["category"] is None
        assert item["segments"] is None
        assert item["answered_at"] is None
        assert item["day"] is None
        assert item["period"] == month
    # Green's block has too few people to be published: nothing of it is shown, anywhere.
    green_body = (await get(client, kind="enps", filter="team:green")).json()
    assert (green_body["answers"], green_body["suppressed_reason"]) == ([], "awaiting_changes")
    assert len(comments((await get(client, kind="enps", filter="team:blue")).json())) == 5
    everyone = comments((await get(client, kind="enps")).json())
    assert sorted(everyone) == sorted(a.comment for a in red + blue)
    # A category only where that category has at least k people in the group.
    promoters = (await get(client, kind="enps", filter="team:red", category="promoter")).json()
    assert promoters["total"] == 5
    detractors = (await get(client, kind="enps", filter="team:red", category="detractor")).json()
    assert (detractors["answers"], detractors["suppressed_reason"]) == ([], "too_few")

    # A team lead of red reads red's comments as the total of their view, and nothing else.
    red_lead: Scope = (("team", "red"),)
    mine = (await get(client, scope=red_lead, kind="enps")).json()
    assert sorted(comments(mine)) == sorted(a.comment for a in red)
    assert (await get(client, scope=red_lead, kind="enps", filter="team:blue")).status_code == 403

    # A new answer is not shown until its group is published again (before/after one person),
    # nor is a new version of a shown one (its comment is replaced by the new version's).
    await feed(db, enps(30, 0, "red", "Ny kommentar"))
    edited = red[0].model_copy(update={"version": 2, "comment": "Rettet kommentar"})
    await feed(db, edited)
    now = comments((await get(client, kind="enps")).json())
    assert sorted(now) == sorted(c for c in everyone if c != red[0].comment)
    # Four more people (five since the last publication): published again, with all of them.
    await publish(db, [enps(31 + i, 9, "red", f"Endnu en {i}") for i in range(4)])
    after = comments((await get(client, kind="enps")).json())
    assert {"Ny kommentar", "Rettet kommentar", "Endnu en 0"} <= set(after)

    # Off the grid, or a group the grid has no figure for: refused.
    day = NOW.date().isoformat()
    for params in (
        {"from": day, "to": day},
        {"window": "30d"},
        {"filter": ["team:red", "department:Ops"]},
        {"has_comment": "false"},
    ):
        refused = await get(client, kind="enps", **params)
        assert refused.status_code == 422, params
        assert refused.json()["error"]["code"] == "enps_grid"
