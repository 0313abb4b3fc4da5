"""The themes API against PostgreSQL: the default themes over Danish and English comments, per
category and per department, with short quotes and proposed key phrases; a tenant's own themes
(admins only); eNPS counts only where they describe at least k people."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common import topics
from anbefal.common.auth import issue_token
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
TENANT = "tema"


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
    tenant=TENANT, display_name="Tema A/S", time_zone="Europe/Copenhagen", updated_at=NOW
)
AT = NOW - timedelta(days=1)
SAMPLE = [
    ("Support", 2, "Ventetiden på support var alt for lang"),
    ("Support", 3, "Prisen er for høj"),
    ("Support", 4, "Alt for dyrt, og leveringen var forsinket"),
    ("Support", 1, "Forsinket levering igen"),
    ("Support", 10, "Fantastisk service fra Mette"),
    ("Sales", 9, "Hurtig levering og venlig kontaktperson"),
    ("Sales", 2, "The price is too high"),
    ("Sales", 1, "Delivery was late again, and the driver was late"),
    ("Sales", 10, "Great quality, the product just works"),
    ("Sales", 8, "Hurtig levering, men prisen er høj"),
    ("Sales", 0, "Always late, and nobody calls back"),
    ("Sales", 10, "Hurtig og venlig betjening"),
]


@pytest.fixture
async def client(db: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    settings = ScoringSettings(jwt_secret=TEST_JWT_SECRET, data_keys=TEST_DATA_KEYS)
    app = create_app(settings)
    app.state.runtime = SimpleNamespace(settings=settings, sessionmaker=db)
    app.state.wiring = SimpleNamespace(state=ScoringState(settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://scoring") as c:
        yield c


def nps(n: int, department: str, score: int, comment: str) -> SurveyResponse:
    rid = f"nps-{n}"
    return SurveyResponse(
        event_id=response_event_id(TENANT, "api", rid), version=1, tenant=TENANT, kind="nps",
        score=score, answered_at=AT, received_at=AT, source=Source(tool="api", response_id=rid),
        respondent=Respondent(key=f"c-{n}"), segments={"department": department},
        comment=comment,
    )  # fmt: skip


def enps(n: int, score: int, comment: str) -> SurveyResponse:
    rid = f"enps-{n}"
    return SurveyResponse(
        event_id=response_event_id(TENANT, "api", rid), version=1, tenant=TENANT, kind="enps",
        score=score, answered_at=NOW, received_at=NOW,
        source=Source(tool="api", response_id=rid), respondent=Respondent(key=f"e-{n}"),
        segments={"team": "red"}, comment=comment,
    )  # fmt: skip


async def call(
    client: httpx.AsyncClient, method: str, path: str, role: str = "viewer", **kwargs: Any
) -> httpx.Response:
    token = issue_token(TEST_JWT_SECRET, tenant=TENANT, role=role, sub="ida")
    headers = {"Authorization": f"Bearer {token}"}
    return await client.request(method, f"/v1/tenants/{TENANT}{path}", headers=headers, **kwargs)


def by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in body["themes"]}


async def test_default_themes_over_danish_and_english_comments(
    db: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> None:
    await feed(db, SETTINGS, *(nps(i, *row) for i, row in enumerate(SAMPLE)))

    body = (await call(client, "GET", "/themes", params={"by": "department"})).json()
    assert body["comments"] == 12
    themes = by_name(body)
    price = themes["Pris"]
    assert (price["promoters"], price["passives"], price["detractors"]) == (0, 1, 3)
    assert {s["value"]: s["detractors"] for s in price["segments"]} == {"Support": 2, "Sales": 1}
    delivery = themes["Levering"]
    assert (delivery["promoters"], delivery["passives"], delivery["detractors"]) == (1, 1, 3)
    assert themes["Support"]["total"] == 2
    assert 1 <= len(price["quotes"]) <= 3
    assert all(len(q["text"]) <= 160 for q in price["quotes"])
    assert {q["text"] for q in price["quotes"]} <= {c for _, _, c in SAMPLE}
    # The largest theme first; the key phrases that set detractors apart, beside the themes.
    assert body["themes"][0]["total"] == max(t["total"] for t in body["themes"])
    assert "forsinket" in body["proposed"]["detractors"]
    assert "late" in body["proposed"]["detractors"]
    assert "hurtig" in body["proposed"]["promoters"]

    # A dimension the answers never had is a typo, not "no segments".
    typo = await call(client, "GET", "/themes", params={"by": "departement"})
    assert typo.status_code == 422
    assert typo.json()["error"]["code"] == "unknown_dimension"

    # The same filters as the answers: Sales detractors only.
    sales = await call(
        client, "GET", "/themes", params={"filter": "department:Sales", "category": "detractor"}
    )
    assert by_name(sales.json())["Pris"]["detractors"] == 1
    assert sales.json()["comments"] == 3


async def test_a_tenant_names_its_own_themes(
    db: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> None:
    await feed(db, SETTINGS, *(nps(i, *row) for i, row in enumerate(SAMPLE)))
    config = {"themes": [{"name": "Fragt", "keywords": ["levering", "delivery"]}]}
    assert (await call(client, "PUT", "/themes/config", json=config)).status_code == 403
    saved = await call(client, "PUT", "/themes/config", role="admin", json=config)
    assert saved.status_code == 200, saved.text
    assert saved.json()["default"] is False
    got = (await call(client, "GET", "/themes/config")).json()
    assert got["themes"] == config["themes"]
    body = (await call(client, "GET", "/themes")).json()
    assert [t["name"] for t in body["themes"]] == ["Fragt"]
    assert body["themes"][0]["total"] == 5
    # Keywords that are no words at all, or a name twice, are refused.
    bad = {"themes": [{"name": "X", "keywords": ["!!"]}]}
    assert (await call(client, "PUT", "/themes/config", role="admin", json=bad)).status_code == 422
    twice = {"themes": [{"name": "X", "keywords": ["a"]}, {"name": "X", "keywords": ["b"]}]}
    assert (
        await call(client, "PUT", "/themes/config", role="admin", json=twice)
    ).status_code == 422


async def test_enps_theme_counts_describe_at_least_k_people(
    db: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> None:
    staff = [enps(i, 3, f"Lønnen er for lav ({i})") for i in range(5)]
    staff += [enps(9, 10, "God ledelse og gode kolleger")]
    await feed(db, SETTINGS, *staff)
    async with db() as session, session.begin():
        await blocks.publish_ready(session, TENANT, 5)
    config = {
        "themes": [
            {"name": "Løn", "keywords": ["løn"]},
            {"name": "Ledelse", "keywords": ["ledelse"]},
        ]
    }
    await call(client, "PUT", "/themes/config", role="admin", json=config)

    body = (await call(client, "GET", "/themes", params={"kind": "enps"})).json()
    themes = by_name(body)
    pay, lead = themes["Løn"], themes["Ledelse"]
    assert (pay["total"], pay["detractors"], pay["promoters"]) == (5, 5, None)
    assert (lead["total"], lead["promoters"], lead["quotes"]) == (None, None, [])
    assert all(q["category"] is None for q in pay["quotes"])
    assert body["proposed"] == {"detractors": [], "promoters": []}  # one promoter: too few
    hidden = (await call(client, "GET", "/themes", params={"kind": "enps", "by": "team"})).json()
    assert by_name(hidden)["Løn"]["segments"] == [
        {"value": "red", "total": 5, "promoters": None, "passives": None, "detractors": 5}
    ]
