"""The context for a call (`tasks/context.py`): the task's own facts, and the respondent's and
their account's other tasks, newest first, a few, inside the reader's scope; an erased
respondent's account no longer links their tasks."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.cli.users import add as add_staff
from anbefal.common.auth import Principal, Role
from anbefal.common.crypto import Keyring, key_spec
from anbefal.common.erasure import Subject
from anbefal.common.events import Action, Respondent
from anbefal.devstack.staffpage import form_token
from anbefal.devstack.testing import call_task_action
from anbefal.notify.models import Task
from anbefal.notify.privacy import erasure
from anbefal.notify.tasks import context, links
from anbefal.notify.tasks import service as tasks

pytestmark = pytest.mark.integration
DIRECTOR = Principal(tenant="acme", role=Role.DIRECTOR, sub="dir@acme.example")
LEAD = Principal(
    tenant="acme", role=Role.DIRECTOR, sub="lead@acme.example", scope=(("team", "Alpha"),)
)
VIEWER = Principal(tenant="acme", role=Role.VIEWER, sub="view@acme.example")


def _action(n: int, key: str, account: str | None, team: str, days_ago: int) -> Action:
    base = call_task_action("acme", n)
    return base.model_copy(
        update={
            "respondent": Respondent(
                key=key, name=f"Kunde {key}", email=f"{key}@kunde.example", phone="+45 11 22 33 44",
                locale="da", account_id=account,
            ),
            "segments": {"team": team, "country": "DK"},
            "answered_at": base.answered_at - timedelta(days=days_ago),
            "assignee_source": "account",
            "due_clock": "business_hours",
        }
    )  # fmt: skip


# The task (c-1 at ACME-1, team Alpha); c-1's earlier answers in Alpha and Beta; the same
# account's other respondents in Alpha and Beta; another account's respondent.
ACTIONS = [
    _action(0, "c-1", "ACME-1", "Alpha", 0),
    _action(1, "c-1", "ACME-1", "Alpha", 30),
    _action(2, "c-1", "ACME-1", "Beta", 10),
    _action(3, "c-2", "ACME-1", "Alpha", 20),
    _action(4, "c-3", "ACME-1", "Beta", 5),
    _action(5, "c-4", "OTHER", "Alpha", 1),
]


async def _tasks(db: async_sessionmaker[AsyncSession]) -> list[Task]:
    async with db() as session, session.begin():
        created = (await tasks.apply(session, ACTIONS)).created
    by_action = {t.action_id: t for t in created}
    return [by_action[a.action_id] for a in ACTIONS]


async def _context(
    db: async_sessionmaker[AsyncSession], task: Task, reader: Principal | None, **kw: Any
) -> context.CallContext:
    async with db() as session:
        fresh = (await session.scalars(select(Task).where(Task.id == task.id))).one()
        return await context.assemble(session, fresh, reader, **kw)


async def test_the_call_has_its_facts_and_the_earlier_tasks_newest_first(
    db: async_sessionmaker[AsyncSession],
) -> None:
    made = await _tasks(db)
    found = await _context(db, made[0], DIRECTOR)
    assert found.type == "call_task"
    assert found.account == "ACME-1"
    assert found.segments == {"country": "DK", "team": "Alpha"}
    assert found.language == "da"
    assert found.respondent["phone"] == "+45 11 22 33 44"
    assert found.rule == context.Rule(
        rule_id="detractor-call", score=made[0].score, kind="nps", owner_source="account",
        due_clock="business_hours", due_at=made[0].due_at,
    )  # fmt: skip
    # The respondent's own other answers, newest first; the account's other respondents'.
    assert [e.id for e in found.respondent_history] == [str(made[2].id), str(made[1].id)]
    assert [e.id for e in found.account_history] == [str(made[4].id), str(made[3].id)]
    assert found.account_history[0].respondent == "Kunde c-3"
    # A few only.
    few = await _context(db, made[0], DIRECTOR, few=1)
    assert [e.id for e in few.account_history] == [str(made[4].id)]


async def test_a_team_leads_scope_and_a_viewers_rights_apply(
    db: async_sessionmaker[AsyncSession],
) -> None:
    made = await _tasks(db)
    lead = await _context(db, made[0], LEAD)
    assert [e.id for e in lead.respondent_history] == [str(made[1].id)]
    assert [e.id for e in lead.account_history] == [str(made[3].id)]
    viewer = await _context(db, made[0], VIEWER)
    assert "phone" not in viewer.respondent
    assert "email" not in viewer.respondent
    # A signed link's holder sees this one task: no other task.
    alone = await _context(db, made[0], None)
    assert alone.respondent_history == []
    assert alone.account_history == []
    assert alone.account == "ACME-1"


async def test_an_erased_respondent_leaves_no_account_behind(
    db: async_sessionmaker[AsyncSession],
) -> None:
    made = await _tasks(db)
    async with db() as session, session.begin():
        await erasure.erase(
            session, "acme", Subject(respondent_id="c-3"), Keyring.parse(key_spec("k1", b"k" * 32))
        )
    async with db() as session:
        erased = (await session.scalars(select(Task).where(Task.id == made[4].id))).one()
        assert "account_id" not in erased.respondent
    found = await _context(db, made[0], DIRECTOR)
    assert [e.id for e in found.account_history] == [str(made[3].id)]
    gone = await _context(db, made[4], DIRECTOR)
    assert gone.account is None
    assert gone.account_history == []


async def test_the_task_page_shows_the_context_in_danish(api: Any) -> None:
    email, password = "agent@acme.example", "long enough password"
    await add_staff(
        api.url, tenant="acme", email=email, name="Agent", role="agent", password=password,
        locale="da",
    )  # fmt: skip
    ids = [await api.new_task(a) for a in ACTIONS]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app),
        base_url="http://test",
        headers={"Origin": "http://test"},
    ) as page:
        login = await page.get("/login")
        fields = {"tenant": "acme", "email": email, "password": password}
        await page.post("/login", data={**fields, "csrf": form_token(login.text)})
        page.cookies.set("anbefal_locale", "da")
        html = (await page.get(f"/tasks/{ids[0]}")).text
    for shown in (
        "Om opkaldet", ">Opkald<", "ACME-1", "country: DK · team: Alpha", ">dansk<",
        "Reglen “detractor-call”: NPS-score 0", "Ansvarlig fundet via kundens konto",
        "Fristen tælles i arbejdstiden", "Tidligere svar fra samme konto", "Kunde c-3",
    ):  # fmt: skip
        assert shown in html, shown
    assert f"/tasks/{ids[5]}" not in html  # another account's


async def test_the_task_link_page_shows_the_context_but_no_other_task(api: Any) -> None:
    owner = "sales@partner.example"  # the account's salesperson, no login
    made = [a.model_copy(update={"assignee": owner}) for a in ACTIONS]
    ids = [await api.new_task(a) for a in made]
    async with api.maker() as session:
        task = (await session.scalars(select(Task).where(Task.id == uuid.UUID(ids[0])))).one()
    assert task.assignee_trusted
    settings = api.app.state.runtime.settings
    url = links.url("http://test", settings.unsubscribe_link_keys().keyring,
                    links.TaskLink("acme", task.id, owner, "assignee"))  # fmt: skip
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://test"
    ) as page:
        shown = await page.get(url.removeprefix("http://test"), headers={"Accept-Language": "da"})
    assert shown.status_code == 200
    html = shown.text
    for fact in ("Om opkaldet", "ACME-1", "Ansvarlig fundet via kundens konto"):
        assert fact in html, fact
    # The link grants this one task: no other task listed, no reply form.
    assert "Tidligere svar" not in html
    assert 'action="/tasks/' not in html
    assert 'name="key"' not in html
