"""Closed-loop performance (`GET .../loop-stats`): per period and segment, from notify's tasks
in one pass of SQL; and a team lead's scope on the tasks API and the figures alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update

from anbefal.cli.users import add as add_staff
from anbefal.common.events import Action, Respondent, action_id
from anbefal.devstack.staffpage import form_token
from anbefal.notify.models import Task

pytestmark = pytest.mark.integration
TENANT = "acme"
HOUR = timedelta(hours=1)
NOW = datetime.now(UTC)


def action(
    score: int, answered_h_ago: float, due_in_h: float, department: str | None, kind: str = "nps"
) -> Action:
    response = uuid.uuid4()
    rule = "detractor-call" if score <= 6 else "passive-follow-up"
    return Action(
        action_id=action_id(response, rule), tenant=TENANT,
        type="call_task" if score <= 6 else "follow_up_task", rule_id=rule,
        response_event_id=response, response_version=1, kind=kind, score=score,  # type: ignore[arg-type]
        answered_at=NOW - answered_h_ago * HOUR, decided_at=NOW, assignee="boss@acme.example",
        assignee_role="director", due_at=NOW + due_in_h * HOUR,
        respondent=Respondent(key=f"c-{response.hex[:6]}"),
        segments={"department": department} if department else {},
    )  # fmt: skip


async def seed(api: Any) -> dict[str, str]:
    """The tasks of the figures below: name -> task id."""
    made = {
        "t1": action(3, 50, -2, "Support"),
        "t2": action(5, 30, 18, "Support"),
        "t3": action(2, 60, -12, "Sales"),
        "t4": action(8, 5, 100, "Sales"),
        "t5": action(4, 20, 28, "Support"),  # cancelled: in no figure
        "t6": action(6, 40 * 24, -39 * 24, None),  # forty days ago: outside 30d
        "t8": action(0, 100, -52, "Sales"),
        "e1": action(1, 10, 38, "Sales", kind="enps"),  # eNPS: only with kind=enps
    }
    ids = {name: await api.new_task(a) for name, a in made.items()}
    # (status, first contact after the answer in hours, outcome, reason)
    worked = {
        "t1": ("done", 10, "reached", "price"),
        "t2": ("done", 20, "resolved", "delivery"),
        "t4": ("claimed", 1, None, None),
        "t5": ("cancelled", None, None, None),
        "t8": ("done", 53, "no_answer", None),
    }
    async with api.maker() as session, session.begin():
        for name, (status, after_h, outcome, reason) in worked.items():
            first = made[name].answered_at + after_h * HOUR if after_h is not None else None
            await session.execute(
                update(Task)
                .where(Task.id == uuid.UUID(ids[name]))
                .values(status=status, first_contact_at=first, outcome=outcome, reason=reason)
            )
    return ids


ALL = {
    "tasks": 5,
    "detractors_with_task": 4,
    "with_due": 5,
    "contacted": 4,
    "contacted_within_due": 3,
    "contacted_within_due_share": 0.6,
    "median_first_contact_s": 15 * 3600.0,
    "done": 3,
    "open": 2,
    "overdue_now": 1,
    "outcomes": {"reached": 1, "resolved": 1, "no_answer": 1},
    "reasons": {"price": 1, "delivery": 1},
}
SUPPORT = {
    "value": "Support", "tasks": 2, "detractors_with_task": 2, "with_due": 2, "contacted": 2,
    "contacted_within_due": 2, "contacted_within_due_share": 1.0,
    "median_first_contact_s": 15 * 3600.0, "done": 2, "open": 0, "overdue_now": 0,
    "outcomes": {"reached": 1, "resolved": 1}, "reasons": {"price": 1, "delivery": 1},
}  # fmt: skip
SALES = {
    "value": "Sales", "tasks": 3, "detractors_with_task": 2, "with_due": 3, "contacted": 2,
    "contacted_within_due": 1, "contacted_within_due_share": pytest.approx(1 / 3),
    "median_first_contact_s": 27 * 3600.0, "done": 1, "open": 2, "overdue_now": 1,
    "outcomes": {"no_answer": 1}, "reasons": {},
}  # fmt: skip


def figures(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    if row.get("median_first_contact_s") is not None:
        row["median_first_contact_s"] = round(row["median_first_contact_s"])
    return row


async def test_the_figures_of_a_period_and_per_department(api: Any) -> None:
    await seed(api)
    async with api.client("director") as director:
        whole = await director.get("/loop-stats")
        assert whole.status_code == 200, whole.text
        body = whole.json()
        assert figures(body["total"]) == ALL
        assert body["segments"] == []
        zone = ZoneInfo("Europe/Copenhagen")
        today = NOW.astimezone(zone).date()
        assert body["period"] == {
            "first_day": str(today - timedelta(days=29)), "last_day": str(today),
            "time_zone": "Europe/Copenhagen", "window": "30d",
        }  # fmt: skip
        assert body["reason_labels"]["price"] == {"da": "Pris", "en": "Price"}
        by = (await director.get("/loop-stats", params={"by": "department"})).json()
        assert by["dimension"] == "department"
        assert figures(by["total"]) == ALL
        segments = {s["value"]: figures(s) for s in by["segments"]}
        assert segments == {"Support": SUPPORT, "Sales": SALES}
        enps = (await director.get("/loop-stats", params={"kind": "enps"})).json()
        assert (enps["total"]["tasks"], enps["total"]["detractors_with_task"]) == (1, 1)


async def test_a_custom_range_counts_the_answers_of_its_days(api: Any) -> None:
    await seed(api)
    today = NOW.astimezone(ZoneInfo("Europe/Copenhagen")).date()
    days = {"from": str(today - timedelta(days=41)), "to": str(today - timedelta(days=39))}
    async with api.client("viewer") as viewer:
        old = (await viewer.get("/loop-stats", params=days)).json()
        assert (old["total"]["tasks"], old["total"]["overdue_now"]) == (1, 1)
        assert old["period"]["window"] is None
        backwards = {"from": days["to"], "to": days["from"]}
        assert (await viewer.get("/loop-stats", params=backwards)).status_code == 422


async def test_an_unknown_dimension_is_refused_naming_the_known_ones(api: Any) -> None:
    await seed(api)
    async with api.client("admin") as admin:
        refused = await admin.get("/loop-stats", params={"by": "departement"})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0] == {
        "field": "by", "message": "unknown dimension", "allowed": ["department"],
    }  # fmt: skip


@pytest.mark.parametrize(("role", "status"), [
    ("admin", 200), ("director", 200), ("viewer", 200), ("agent", 200), ("ops", 403),
    ("ingest", 403),
])  # fmt: skip
async def test_who_reads_the_figures(api: Any, role: str, status: int) -> None:
    async with api.client(role) as client:
        assert (await client.get("/loop-stats")).status_code == status


async def test_a_team_lead_counts_and_lists_only_the_tasks_in_their_scope(api: Any) -> None:
    ids = await seed(api)
    scope = (("department", "Support"),)
    async with api.client("viewer", "lead@acme.example", scope) as lead:
        stats = (await lead.get("/loop-stats", params={"by": "department"})).json()
        assert figures(stats["total"]) == {k: v for k, v in SUPPORT.items() if k != "value"}
        assert [s["value"] for s in stats["segments"]] == ["Support"]
        listed = (await lead.get("/tasks")).json()["tasks"]
        assert {t["id"] for t in listed} == {ids["t1"], ids["t2"], ids["t5"]}
        assert (await lead.get(f"/tasks/{ids['t3']}")).status_code == 404
        assert (await lead.get(f"/tasks/{ids['t1']}")).status_code == 200
    async with api.client("viewer") as everyone:
        assert len((await everyone.get("/tasks")).json()["tasks"]) == 8


async def test_the_first_contact_is_kept_through_reassign_and_reopen(api: Any) -> None:
    task_id = await api.new_task(action(3, 2, 46, "Support"))
    async with api.client("director", "boss@acme.example") as boss:
        claimed = (await boss.post(f"/tasks/{task_id}/claim")).json()
        first = claimed["first_contact_at"]
        assert first is not None
        await boss.post(f"/tasks/{task_id}/reassign", json={"assignee": "ida@acme.example"})
        await boss.post(f"/tasks/{task_id}/claim")
        await boss.post(f"/tasks/{task_id}/complete", json={"outcome": "reached", "note": "ok"})
        reopened = (await boss.post(f"/tasks/{task_id}/reopen", json={"note": "again"})).json()
    assert reopened["first_contact_at"] == first


async def test_a_team_leads_queue_page_and_history_hold_only_their_scope(api: Any) -> None:
    ids = await seed(api)
    email, password = "lead@acme.example", "long enough password"
    await add_staff(
        api.url, tenant=TENANT, email=email, name="Lead", role="director", password=password,
        locale="en", scope=(("department", "Sales"),),
    )  # fmt: skip
    # The same respondent answered in Support earlier: not for a Sales lead's eyes.
    respondent = Respondent(key="c-shared")
    earlier = action(2, 10, 38, "Support").model_copy(update={"respondent": respondent})
    later = action(1, 2, 46, "Sales").model_copy(update={"respondent": respondent})
    support_task = await api.new_task(earlier)
    sales_task = await api.new_task(later)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app),
        base_url="http://test",
        headers={"Origin": "http://test"},
    ) as page:
        login = await page.get("/login")
        fields = {"tenant": TENANT, "email": email, "password": password}
        await page.post("/login", data={**fields, "csrf": form_token(login.text)})
        team = (await page.get("/queue", params={"view": "team"})).text
        assert ids["t3"] in team  # Sales, open
        assert support_task not in team  # Support, open
        shown = (await page.get(f"/tasks/{sales_task}")).text
        assert 'id="history"' not in shown  # the Support answer is not shown as history
        assert (await page.get(f"/tasks/{ids['t1']}")).status_code == 404
