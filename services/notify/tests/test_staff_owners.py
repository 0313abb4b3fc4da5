"""Staff owners as the mail sees them: a deactivated login is no login (no page opens for it),
and a staff user's own time zone is the one their mail shows times in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.events import Action, OwnerSource, Respondent, action_id
from anbefal.devstack.testing import TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS
from anbefal.notify import handlers
from anbefal.notify.models import Email, StaffUser, Tenant
from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff import service as staff
from anbefal.notify.tasks import service as tasks
from anbefal.notify.tasks.sla import SlaClock

pytestmark = pytest.mark.integration
SETTINGS = NotifySettings(
    jwt_secret=TEST_JWT_SECRET,
    unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS,
    public_url="https://cx.example",
)


def _action(owner: str, source: OwnerSource, due_in: timedelta) -> Action:
    now = datetime.now(UTC)
    response = uuid.uuid4()
    return Action(
        action_id=action_id(response, "detractor-call"), tenant="acme", type="call_task",
        rule_id="detractor-call", response_event_id=response, response_version=1, kind="nps",
        score=2, answered_at=now - timedelta(hours=40), decided_at=now, assignee=owner,
        assignee_role="director", due_at=now + due_in,
        respondent=Respondent(key=f"c-{response}", name="Kunde"), assignee_source=source,
    )  # fmt: skip


async def _tenant(session: AsyncSession) -> dict[str, Tenant]:
    acme = Tenant(
        tenant="acme", display_name="Acme", locale="en", sender_email="cx@acme.example",
        time_zone="Europe/Copenhagen",
    )  # fmt: skip
    session.add(acme)
    await session.flush()
    return {"acme": acme}


async def test_a_deactivated_login_is_no_login(db: async_sessionmaker[AsyncSession]) -> None:
    gone = "gone@elsewhere.example"  # named by the answer only: no signed link either
    async with db() as session, session.begin():
        tenants = await _tenant(session)
        session.add(
            StaffUser(
                tenant="acme",
                email=gone,
                name="Gone",
                role="agent",
                password_hash="x",
                active=False,
            )  # fmt: skip
        )
        session.add(
            StaffUser(
                tenant="acme",
                email="ida@acme.example",
                name="Ida",
                role="agent",
                password_hash="x",
            )  # fmt: skip
        )
        await session.flush()
        found = await staff.staff_among(session, {("acme", gone), ("acme", "IDA@acme.example")})
        assert set(found) == {("acme", "ida@acme.example")}
        created = (
            await tasks.apply(session, [_action(gone, "hint", timedelta(hours=5))], tenants)
        ).created
        # No mail linking to a staff page its owner can no longer open.
        known = await staff.staff_among(
            session, {(t.tenant, t.assignee) for t in created if t.assignee}
        )
        assert handlers._assignment_notices(created, tenants, known, SETTINGS) == []


async def test_staff_mail_shows_times_in_the_recipients_own_zone(
    db: async_sessionmaker[AsyncSession],
) -> None:
    ida = "ida@acme.example"
    async with db() as session, session.begin():
        tenants = await _tenant(session)
        session.add(
            StaffUser(
                tenant="acme",
                email=ida,
                name="Ida",
                role="agent",
                password_hash="x",
                time_zone="America/New_York",
            )  # fmt: skip
        )
        await session.flush()
        # One task to be told about, one to be warned about (75% of its time gone).
        made = [_action(ida, "hint", timedelta(hours=30)), _action(ida, "hint", timedelta(hours=5))]
        created = (await tasks.apply(session, made, tenants)).created
        known = await staff.staff_among(
            session, {(t.tenant, t.assignee) for t in created if t.assignee}
        )
        notices = handlers._assignment_notices(created, tenants, known, SETTINGS)
        assert len(notices) == 2
        for notice in notices:
            assert _in_new_york(notice["body"]), notice["body"]
    async with db() as session, session.begin():
        assert await SlaClock(db, SETTINGS).step(session) == 1
    async with db() as session:
        warned = (await session.scalars(select(Email).where(Email.template == "sla_warning"))).one()
        assert _in_new_york(warned.body), warned.body


def _in_new_york(body: str) -> bool:
    """The due time shown in New York's zone (named EST or EDT), not the tenant's (CET)."""
    return ("EST" in body or "EDT" in body) and "CET" not in body and "CEST" not in body
