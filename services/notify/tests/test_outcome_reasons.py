"""Outcome reasons (the tenant's codes, chosen when completing a task): the API validates them,
the task and its event carry them, a reopen keeps every earlier completion, an admin sets the
codes, and the staff page's complete form offers them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from anbefal.cli.users import add as add_staff
from anbefal.common.events import AuditEntry
from anbefal.devstack.staffpage import form_token
from anbefal.notify.models import OUTBOX
from anbefal.notify.reasons.model import DEFAULTS, Reasons

pytestmark = pytest.mark.integration
TENANT = "acme"


async def test_a_task_is_completed_with_one_of_the_default_reasons(api: Any) -> None:
    task_id = await api.new_task()
    async with api.client("agent") as agent:
        listed = (await agent.get("/outcome-reasons")).json()["reasons"]
        assert [r["code"] for r in listed] == [
            "price", "product", "support", "delivery", "contact_person", "other",
        ]  # fmt: skip
        assert listed[0]["labels"] == {"da": "Pris", "en": "Price"}
        assert (await agent.post(f"/tasks/{task_id}/claim")).status_code == 200
        done = await agent.post(
            f"/tasks/{task_id}/complete",
            json={"outcome": "reached", "note": "Too expensive for them", "reason": "price"},
        )
        assert done.status_code == 200, done.text
        assert (done.json()["outcome"], done.json()["reason"]) == ("reached", "price")
    [event] = await api.events("completed")
    assert (event.outcome, event.reason, event.actor) == ("reached", "price", "ida@acme.example")


async def test_an_unknown_reason_is_refused_naming_the_field_and_the_codes(api: Any) -> None:
    task_id = await api.new_task()
    async with api.client("agent") as agent:
        await agent.post(f"/tasks/{task_id}/claim")
        refused = await agent.post(
            f"/tasks/{task_id}/complete",
            json={"outcome": "reached", "note": "n", "reason": "weather"},
        )
        assert refused.status_code == 422
        [detail] = refused.json()["error"]["details"]
        assert detail["field"] == "reason"
        assert detail["allowed"] == DEFAULTS.codes
        assert (await agent.get(f"/tasks/{task_id}")).json()["status"] == "claimed"
        # Without a reason (no contact made, say) the task is completed as before.
        done = await agent.post(
            f"/tasks/{task_id}/complete", json={"outcome": "no_answer", "note": "rang twice"}
        )
        assert (done.json()["status"], done.json()["reason"]) == ("done", None)


async def test_a_reopen_keeps_every_earlier_completion(api: Any) -> None:
    task_id = await api.new_task()
    async with api.client("director", "boss@acme.example") as boss:
        await boss.post(f"/tasks/{task_id}/claim")
        await boss.post(
            f"/tasks/{task_id}/complete",
            json={"outcome": "reached", "note": "price", "reason": "price"},
        )
        reopened = (await boss.post(f"/tasks/{task_id}/reopen", json={"note": "again"})).json()
        assert (reopened["status"], reopened["outcome"], reopened["reason"]) == ("open", None, None)
        [first] = reopened["completions"]
        assert (first["outcome"], first["reason"]) == ("reached", "price")
        assert first["reopened_by"] == "boss@acme.example"
        assert first["reopened_at"]
        await boss.post(f"/tasks/{task_id}/claim")
        final = await boss.post(
            f"/tasks/{task_id}/complete",
            json={"outcome": "resolved", "note": "it was delivery", "reason": "delivery"},
        )
    history = final.json()["completions"]
    assert [(c["reason"], c["reopened_at"] is None) for c in history] == [
        ("price", False),
        ("delivery", True),
    ]
    assert final.json()["reason"] == "delivery"
    assert [e.reason for e in await api.events("completed")] == ["price", "delivery"]


async def test_an_admin_sets_the_tenants_own_reasons(api: Any) -> None:
    own = {
        "reasons": [
            {"code": "waiting_time", "labels": {"da": "Ventetid", "en": "Waiting time"}},
            {"code": "other", "labels": {"da": "Andet", "en": "Other"}},
        ]
    }
    async with api.client("agent") as agent:
        assert (await agent.put("/outcome-reasons", json=own)).status_code == 403
    async with api.client("admin", "admin@acme.example") as admin:
        twice = {"reasons": [own["reasons"][0], own["reasons"][0]]}
        refused = await admin.put("/outcome-reasons", json=twice)
        assert refused.status_code == 422
        assert "waiting_time" in refused.text
        no_danish = {"reasons": [{"code": "x", "labels": {"en": "X"}}]}
        assert (await admin.put("/outcome-reasons", json=no_danish)).status_code == 422
        assert (await admin.put("/outcome-reasons", json=own)).status_code == 200
        assert (await admin.get("/outcome-reasons")).json() == own
    task_id = await api.new_task()
    async with api.client("agent") as agent:
        await agent.post(f"/tasks/{task_id}/claim")
        body = {"outcome": "reached", "note": "n", "reason": "price"}
        old = await agent.post(f"/tasks/{task_id}/complete", json=body)
        assert old.json()["error"]["details"][0]["allowed"] == ["waiting_time", "other"]
        body["reason"] = "waiting_time"
        assert (await agent.post(f"/tasks/{task_id}/complete", json=body)).status_code == 200
    async with api.maker() as session:
        payloads = (await session.execute(select(OUTBOX.c.payload))).scalars()
        audits = [AuditEntry.model_validate_json(p) for p in payloads if b'"action"' in p]
    [entry] = [a for a in audits if a.target == "outcome_reasons"]
    assert entry.detail["outcome_reasons"]["to"] == ["waiting_time", "other"]
    assert entry.actor.sub == "admin@acme.example"


def test_a_reason_list_names_each_code_once_and_labels_by_language() -> None:
    with pytest.raises(ValueError, match="price"):
        Reasons.model_validate({"reasons": [DEFAULTS.reasons[0], DEFAULTS.reasons[0]]})
    assert DEFAULTS.label("contact_person", "da") == "Kontaktperson"
    assert DEFAULTS.label("contact_person", "en-GB") == "Contact person"
    assert DEFAULTS.label("retired_code", "da") == "retired_code"


async def test_the_staff_pages_complete_form_offers_the_reasons(api: Any) -> None:
    email, password = "agent@acme.example", "long enough password"
    await add_staff(
        api.url, tenant=TENANT, email=email, name="Agent", role="agent", password=password,
        locale="da",
    )  # fmt: skip
    task_id = await api.new_task()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app),
        base_url="http://test",
        headers={"Origin": "http://test"},
    ) as page:
        login = await page.get("/login")
        fields = {"tenant": TENANT, "email": email, "password": password}
        await page.post("/login", data={**fields, "csrf": form_token(login.text)})
        page.cookies.set("anbefal_locale", "da")
        html = (await page.get(f"/tasks/{task_id}")).text
        await page.post(f"/tasks/{task_id}/claim", data={"csrf": form_token(html)})
        html = (await page.get(f"/tasks/{task_id}")).text
        assert 'name="reason"' in html
        assert '<option value="contact_person">Kontaktperson</option>' in html
        posted = await page.post(
            f"/tasks/{task_id}/complete",
            data={
                "csrf": form_token(html), "outcome": "reached", "note": "Ringede",
                "reason": "delivery",
            },
        )  # fmt: skip
        assert posted.status_code == 303, posted.text
        shown = (await page.get(f"/tasks/{task_id}")).text
        assert "Levering" in shown
    async with api.client("viewer") as viewer:
        assert (await viewer.get(f"/tasks/{task_id}")).json()["reason"] == "delivery"
