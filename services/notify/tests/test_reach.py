"""Every mail about a task links to a page its recipient can open, and a task nobody can be
sent to waits in the fallback queue, counted (against PostgreSQL, through the real handler
steps: tasks from actions, assignment notices, the SLA clock's warnings and escalations)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.auth import Principal, Role
from anbefal.common.events import Action, OwnerSource, Respondent, action_id
from anbefal.devstack.testing import TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS
from anbefal.notify import handlers
from anbefal.notify.email import service as email
from anbefal.notify.models import Email, StaffUser, Task, Tenant
from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff import service as staff
from anbefal.notify.tasks import links, queue
from anbefal.notify.tasks import service as tasks
from anbefal.notify.tasks.repository import reachable
from anbefal.notify.tasks.sla import SlaClock

pytestmark = pytest.mark.integration
AGENT = Principal(tenant="acme", role=Role.AGENT, sub="ida@acme.example")
SETTINGS = NotifySettings(
    jwt_secret=TEST_JWT_SECRET,
    unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS,
    public_url="https://cx.example",
)
LINK = re.compile(r"https://cx\.example/(tasks|t)/(\S+)")
STAFF = {"ida@acme.example", "dir@acme.example"}
# (owner, where it came from): a staff login, owners the tenant named without a login, an
# owner only the answer named but at the tenant's domain, one at anyone's address, nobody.
OWNERS: list[tuple[str | None, OwnerSource | None]] = [
    ("ida@acme.example", "hint"),
    ("sales@partner.example", "account"),
    ("boss@partner.example", "default"),
    ("sp@acme.example", "hint"),
    ("someone@elsewhere.example", "hint"),
    (None, None),
]


def action(n: int, owner: str | None, source: OwnerSource | None, due_in: timedelta) -> Action:
    now = datetime.now(UTC)
    response = uuid.uuid4()
    return Action(
        action_id=action_id(response, "detractor-call"), tenant="acme", type="call_task",
        rule_id="detractor-call", response_event_id=response, response_version=1, kind="nps",
        score=2, answered_at=now - timedelta(hours=40), decided_at=now, assignee=owner,
        assignee_role="director" if owner else "team", due_at=now + due_in,
        respondent=Respondent(key=f"c-{n}", name=f"Kunde {n}"), assignee_source=source,
    )  # fmt: skip


async def _setup(session: AsyncSession, director: str | None) -> None:
    session.add(
        Tenant(
            tenant="acme",
            display_name="Acme",
            locale="da",
            sender_email="cx@acme.example",
            default_director=director,
            escalation_next="next@partner.example",
            escalation_next_after_hours=0,
        )  # fmt: skip
    )
    for address in STAFF:
        session.add(
            StaffUser(tenant="acme", email=address, name=address, role="agent", password_hash="x")
        )
    await session.flush()


@pytest.mark.parametrize("director", ["dir@acme.example", "nologin@partner.example", None])
async def test_every_task_mail_opens_a_page_for_its_recipient(
    db: async_sessionmaker[AsyncSession], director: str | None
) -> None:
    # For each owner: one task past 75% of its time (warned) and one past due (escalated to the
    # director and, at once, the next level).
    made = [
        action(n, owner, source, due)
        for n, (owner, source) in enumerate(OWNERS)
        for due in (timedelta(hours=5), timedelta(hours=-1))
    ]
    async with db() as session, session.begin():
        await _setup(session, director)
        tenants = {"acme": (await session.scalars(select(Tenant))).one()}
        created = (await tasks.apply(session, made, tenants)).created
        known = await staff.staff_among(
            session, {(t.tenant, t.assignee) for t in created if t.assignee}
        )
        notices = handlers._assignment_notices(created, tenants, known, SETTINGS)
        await email.queue(session, notices)
    clock = SlaClock(db, SETTINGS)
    async with db() as session, session.begin():
        assert await clock.step(session) > 0

    async with db() as session:
        by_id = {t.id: t for t in await session.scalars(select(Task))}
        mails = list(await session.scalars(select(Email)))
        keyring = SETTINGS.unsubscribe_link_keys().keyring
        assert mails
        for mail in mails:
            found = LINK.search(mail.body)
            assert found, mail.body
            recipient = (mail.recipient or "").lower()
            if found.group(1) == "tasks":
                assert recipient in STAFF, (mail.template, recipient)
                continue
            link = links.read(keyring, found.group(2))
            assert link is not None
            assert link.email == recipient
            assert links.opens(link, by_id[link.task_id]), (mail.template, recipient)
        sent_to = {(m.template, (m.recipient or "").lower()) for m in mails}
        # The owners the tenant named, or at its own domain, are told, with a link.
        for address in ("sales@partner.example", "boss@partner.example", "sp@acme.example"):
            assert ("assignment", address) in sent_to
            assert ("sla_warning", address) in sent_to
        # An address only the answer named gets nothing: no respondent details, no link.
        assert not any(r == "someone@elsewhere.example" for _, r in sent_to)
        # Its task, and the unowned one, wait in every agent's queue, and are counted.
        mine = await queue.waiting(session, AGENT, mine="ida@acme.example", limit=50, cursor=None)
        shared = {t.assignee for t in mine.tasks if t.status == "open"}
        assert {"someone@elsewhere.example", None} <= shared
        assert "sales@partner.example" not in shared
        unreachable = await session.scalar(
            select(func.count()).select_from(Task).where(~reachable())
        )
        assert unreachable == 4
        if director is not None:
            assert ("escalation", director) in sent_to
        assert ("escalation_next", "next@partner.example") in sent_to
