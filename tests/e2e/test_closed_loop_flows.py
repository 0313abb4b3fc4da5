"""The closed loop through real processes: answers on Kafka -> closed_loop -> actions on Kafka ->
notify's tasks and emails. Owners from the accounts and people APIs, the fallback queue,
business-hours due times, the late-comment debounce, a changed score, the cool-down, the ask-why
rule and a dry run. Each test has its own tenant; the processes are shared."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.events import (
    Action,
    Owners,
    Respondent,
    Source,
    SurveyResponse,
    response_event_id,
)
from anbefal.common.kafka import Publisher
from anbefal.common.metrics import tenant_label
from anbefal.devstack.mailsink import MailSink, read_messages
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    asyncpg_dsn,
    caught_up,
    published,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CPH = ZoneInfo("Europe/Copenhagen")
# Long enough that the second version reaches closed_loop inside it on a loaded machine (the
# late-comment test depends on that), short enough for the tests that wait it out.
DEBOUNCE_S = 8.0


class Loop:
    def __init__(
        self, closed_loop: ServiceProcess, notify: ServiceProcess, env: dict[str, str],
        mail_dir: Path, publisher: Publisher,
    ) -> None:  # fmt: skip
        self.closed_loop, self.notify, self.env = closed_loop, notify, env
        self.mail_dir, self.publisher = mail_dir, publisher

    @property
    def database_url(self) -> str:
        return self.env["ANBEFAL_DATABASE_URL"]

    async def send(self, *answers: SurveyResponse) -> None:
        await self.publisher.send_many(
            topics.RESPONSES, [(a.key, a.to_bytes(), None) for a in answers]
        )

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def actions(self, tenant: str) -> list[Action]:
        """Every action revision closed_loop published for the tenant, read from the topic."""
        bootstrap = self.env["ANBEFAL_KAFKA_BOOTSTRAP"]
        values = await published(bootstrap, topics.ACTIONS, f"{tenant}:")
        decoded = [Action.model_validate_json(v) for v in values]
        return sorted(decoded, key=lambda a: (a.answered_at, a.rule_id, a.revision))

    async def caught_up(self) -> bool:
        prefix = self.env["ANBEFAL_GROUP_PREFIX"]
        bootstrap = self.env["ANBEFAL_KAFKA_BOOTSTRAP"]
        return await caught_up(
            bootstrap, self.database_url, "closed_loop", f"{prefix}-closed-loop",
            [topics.RESPONSES],
        ) and await caught_up(
            bootstrap, self.database_url, "notify", f"{prefix}-notify", [topics.ACTIONS]
        )  # fmt: skip

    def api(self, tenant: str) -> httpx.AsyncClient:
        token = issue_token(TEST_JWT_SECRET, tenant=tenant, role="admin", sub="ada@x.dk")
        return httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10)

    async def tasks(self, tenant: str) -> list[dict[str, Any]]:
        async with self.api(tenant) as api:
            r = await api.get(f"{self.notify.url}/v1/tenants/{tenant}/tasks")
        assert r.status_code == 200, r.text
        return list(r.json()["tasks"])

    def mails(self, tenant: str) -> list[Any]:
        return [m for m in read_messages(self.mail_dir) if str(m["To"]).endswith(f"@{tenant}.dk")]


@pytest.fixture(scope="module")
async def loop(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Loop]:
    mail_dir = tmp_path_factory.mktemp("mail")
    sink = MailSink(mail_dir)
    sink.start()
    env = stack.service_env(
        stack.new_database(),
        ANBEFAL_SMTP_PORT=str(sink.port),
        ANBEFAL_CLOSED_LOOP_DEBOUNCE_S=str(DEBOUNCE_S),
    )
    closed_loop = ServiceProcess("closed-loop", env, stack.root / "logs").start()
    notify = ServiceProcess("notify", env, stack.root / "logs").start()
    publisher = Publisher(stack.kafka.bootstrap, timeout=10, client_id="closed-loop-flows")
    await publisher.start()
    try:
        await closed_loop.wait_ready()
        await notify.wait_ready()
        await publisher.wait_ready(30)
        yield Loop(closed_loop, notify, env, mail_dir, publisher)
    finally:
        await publisher.stop()
        closed_loop.stop()
        notify.stop()
        sink.stop()


def new_tenant() -> str:
    return f"cl-{uuid.uuid4().hex[:8]}"


def answer(
    tenant: str, rid: str, score: int, comment: str | None = None, *, version: int = 1,
    respondent: str | None = None, at: datetime | None = None, account: str | None = None,
    director: str | None = None, salesperson: str | None = None, **segments: str,
) -> SurveyResponse:  # fmt: skip
    at = at or datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    who = respondent or f"c-{rid}"
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", rid), version=version, tenant=tenant,
        kind="nps", score=score, comment=comment, answered_at=at, received_at=at,
        source=Source(tool="api", response_id=rid),
        respondent=Respondent(key=who, name="Ida Holm", email=f"{who}@{tenant}.dk",
                              account_id=account),
        segments=segments, owners=Owners(director=director, salesperson=salesperson),
    )  # fmt: skip


async def test_owners_from_the_apis_the_fallback_queue_and_business_hours(loop: Loop) -> None:
    tenant = new_tenant()
    base = f"{loop.closed_loop.url}/v1/tenants/{tenant}"
    async with loop.api(tenant) as api:
        r = await api.put(
            f"{base}/accounts",
            content=(
                "account_id,dimension,value,salesperson,director\n"
                "acme,,,sales@x.dk,acct-dir@x.dk\n"
                ",store,Aarhus C,,store@x.dk\n"
            ),
            headers={"Content-Type": "text/csv"},
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"tenant": tenant, "accounts": 1, "segments": 1}
        r = await api.put(
            f"{base}/people",
            json={"people": [{"email": "acct-dir@x.dk", "work_start": "09:00",
                              "work_end": "17:00", "work_days": "mon-fri"}]},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        mars = {"people": [{"email": "x@x.dk", "time_zone": "Mars/Base"}]}
        bad = await api.put(f"{base}/people", json=mars)
        assert bad.status_code == 422
        assert bad.json()["error"]["details"][0]["field"] == "people.0.time_zone"
        assert (await api.get(f"{base}/people")).json()["people"][0]["work_start"] == "09:00:00"
        # The director's calls count business hours (Danish holidays: the tenant's zone).
        rules = (await api.get(f"{base}/rules")).json()["rules"]
        rules[0] = {**rules[0], "due_clock": "business_hours", "due_hours": 16}
        r = await api.put(f"{base}/rules", json={"rules": rules})
        assert r.status_code == 200, r.text

    eve = datetime(2026, 12, 23, 15, 0, tzinfo=CPH)
    await loop.send(
        answer(tenant, "by-account", 2, "slow", account="acme", at=eve),
        answer(tenant, "by-store", 3, "rude", store="Aarhus C", at=eve),
        answer(tenant, "nobody", 4, "lost", at=eve),
        answer(tenant, "passive", 7, "ok", account="acme"),
    )

    async def four_tasks() -> bool:
        return len(await loop.tasks(tenant)) == 4

    await wait_until(four_tasks, 60, "four tasks in notify")
    tasks = {t["respondent"]["key"]: t for t in await loop.tasks(tenant)}
    account_call = tasks["c-by-account"]
    assert (account_call["assignee"], account_call["assignee_role"]) == (
        "acct-dir@x.dk",
        "director",
    )
    # 2 h on the 23rd, 8 h on the 24th, the 25th-27th holidays and weekend, 6 h on the 28th.
    due = datetime.fromisoformat(account_call["due_at"]).astimezone(CPH)
    assert due == datetime(2026, 12, 28, 15, 0, tzinfo=CPH)
    assert tasks["c-by-store"]["assignee"] == "store@x.dk"
    # Not in the people list: 08-16 in the tenant's zone. 1 h on the 23rd, 8 on the 24th,
    # 7 on the 28th.
    store_due = datetime.fromisoformat(tasks["c-by-store"]["due_at"]).astimezone(CPH)
    assert store_due == datetime(2026, 12, 28, 15, 0, tzinfo=CPH)
    assert (tasks["c-nobody"]["assignee"], tasks["c-nobody"]["assignee_role"]) == (None, "team")
    assert tasks["c-passive"]["assignee"] == "sales@x.dk"
    metrics = httpx.get(f"{loop.closed_loop.metrics_url}/metrics").text
    label = tenant_label(tenant)
    assert (
        f'anbefal_closed_loop_unowned_actions_total{{tenant="{label}",type="call_task"}} 1.0'
        in metrics
    )
    # The releaser keeps up: nothing waits long past its release time.
    (overdue,) = [
        float(line.split()[1])
        for line in metrics.splitlines()
        if line.startswith("anbefal_closed_loop_release_overdue_seconds ")
    ]
    assert 0 <= overdue < 5
    assert "anbefal_closed_loop_held_actions " in metrics


async def test_a_late_comment_is_folded_into_the_task(loop: Loop) -> None:
    tenant = new_tenant()
    # The tool sends the score, then the comment a moment later (inside the debounce).
    await loop.send(answer(tenant, "r1", 3, director="d@x.dk"))
    await loop.send(answer(tenant, "r1", 3, "Slow support", version=2, director="d@x.dk"))

    async def one_task() -> bool:
        return len(await loop.tasks(tenant)) == 1

    await wait_until(one_task, 60, "the call task")
    await wait_until(loop.caught_up, 60, "consumers caught up")
    (task,) = await loop.tasks(tenant)
    actions = await loop.actions(tenant)
    assert (task["type"], task["comment"]) == ("call_task", "Slow support"), actions
    (action,) = actions
    assert (action.revision, action.response_version) == (1, 2)


async def test_a_changed_score_cancels_the_call_and_thanks_instead(loop: Loop) -> None:
    tenant = new_tenant()
    await loop.send(answer(tenant, "r1", 4, "meh", director="d@x.dk"))

    async def one_task() -> bool:
        return len(await loop.tasks(tenant)) == 1

    await wait_until(one_task, 60, "the call task")
    await loop.send(answer(tenant, "r1", 10, "fixed, thanks", version=2, director="d@x.dk"))

    async def thanked() -> bool:
        return len(loop.mails(tenant)) == 1

    await wait_until(thanked, 60, "the thank-you email")
    call, cancel, thanks = await loop.actions(tenant)
    assert (call.rule_id, call.revision, call.cancelled) == ("detractor-call", 1, False)
    assert (cancel.action_id, cancel.revision, cancel.cancelled) == (call.action_id, 2, True)
    assert (thanks.rule_id, thanks.supersedes) == ("promoter-thank-you", call.action_id)
    assert "Thank you" in loop.mails(tenant)[0]["Subject"]

    # notify applies the cancelling revision: the call leaves the queue.
    async def call_cancelled() -> bool:
        return [(t["status"], t["revision"]) for t in await loop.tasks(tenant)] == [
            ("cancelled", 2)
        ]

    await wait_until(call_cancelled, 60, "notify cancelled the call task")


async def test_cool_down_keeps_one_call_per_respondent(loop: Loop) -> None:
    tenant = new_tenant()
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    await loop.send(
        answer(tenant, "r1", 2, "bad", respondent="c-9", at=first, director="d@x.dk"),
        answer(tenant, "r2", 5, "still bad", respondent="c-9", at=first + timedelta(days=1),
               director="d@x.dk"),
    )  # fmt: skip

    async def attached() -> bool:
        return any(a.attached for a in await loop.actions(tenant))

    await wait_until(attached, 60, "the second answer attached to the first call")
    await wait_until(loop.caught_up, 60, "consumers caught up")
    latest = (await loop.actions(tenant))[-1]
    assert [(a.score, a.comment) for a in latest.attached] == [(5, "still bad")]

    # One task in notify, carrying the attached answer.
    async def attached_on_the_task() -> bool:
        tasks = await loop.tasks(tenant)
        return len(tasks) == 1 and [a["comment"] for a in tasks[0]["attached"]] == ["still bad"]

    await wait_until(attached_on_the_task, 60, "the attached answer on notify's task")
    (task,) = await loop.tasks(tenant)
    assert task["comment"] == "bad"


async def test_ask_why_switched_on_and_a_dry_run_without_side_effects(loop: Loop) -> None:
    tenant = new_tenant()
    base = f"{loop.closed_loop.url}/v1/tenants/{tenant}"
    async with loop.api(tenant) as api:
        rules = (await api.get(f"{base}/rules")).json()["rules"]
        rules[3] = {**rules[3], "enabled": True}
        assert (await api.put(f"{base}/rules", json={"rules": rules})).status_code == 200
    await loop.send(
        answer(tenant, "quiet", 9, director="d@x.dk"),
        answer(tenant, "talky", 9, "Lovely", director="d@x.dk"),
    )

    async def mails() -> bool:
        return len(loop.mails(tenant)) == 3

    await wait_until(mails, 60, "two thank-yous and one ask-why")
    recipients = sorted(str(m["To"]) for m in loop.mails(tenant))
    assert recipients == sorted([f"c-quiet@{tenant}.dk"] * 2 + [f"c-talky@{tenant}.dk"])
    await wait_until(loop.caught_up, 60, "consumers caught up")

    before = len(await loop.actions(tenant))
    candidate = [{**r, "enabled": r["id"] != "ask-why"} for r in rules]
    period = {"from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
              "to": datetime.now(UTC).isoformat()}  # fmt: skip
    async with loop.api(tenant) as api:
        r = await api.post(f"{base}/rules/dry-run", json={"rules": candidate, **period})
        assert r.status_code == 200, r.text
        bad = await api.post(f"{base}/rules/dry-run", json={"rules": candidate, "from": "x"})
        assert bad.status_code == 422
    body = r.json()
    assert (body["answers"], body["without_action"], body["truncated"]) == (2, 0, False)
    assert {x["rule_id"]: x["actions"] for x in body["rules"]} == {
        "detractor-call": 0, "passive-follow-up": 0, "promoter-thank-you": 2, "ask-why": 0,
    }  # fmt: skip
    thanks = next(x for x in body["rules"] if x["rule_id"] == "promoter-thank-you")
    assert sorted(e["response_id"] for e in thanks["examples"]) == ["quiet", "talky"]
    assert body["in_force"] == {
        "detractor-call": 0, "passive-follow-up": 0, "promoter-thank-you": 2, "ask-why": 1,
    }  # fmt: skip
    assert len(await loop.actions(tenant)) == before == 3


async def test_history_and_stale_answers_are_scored_elsewhere_but_never_routed(
    loop: Loop,
) -> None:
    """An import of last month's answers makes no task and sends no mail; an answer that reached
    us days late gets only what is still useful; a fresh one is routed as always."""
    tenant = new_tenant()
    now = datetime.now(UTC).replace(microsecond=0)
    month_ago = now - timedelta(days=30)

    def late(a: SurveyResponse, **update: Any) -> SurveyResponse:
        return a.model_copy(update={"received_at": now, **update})

    await loop.send(
        late(answer(tenant, "h1", 2, "old news", at=month_ago, director="d@x.dk"), history=True),
        late(answer(tenant, "h2", 10, "old praise", at=month_ago), history=True),
        late(answer(tenant, "s1", 3, "late call", at=now - timedelta(hours=80),
                    director="d@x.dk")),
        late(answer(tenant, "s2", 9, "late thanks", at=now - timedelta(hours=80))),
        answer(tenant, "f1", 1, "fresh", director="d@x.dk"),
    )  # fmt: skip

    async def fresh_routed() -> bool:
        return any(a.rule_id == "detractor-call" for a in await loop.actions(tenant))

    await wait_until(fresh_routed, 60, "the fresh detractor's call")
    await wait_until(loop.caught_up, 60, "consumers caught up")
    routed = {(a.response_event_id, a.rule_id) for a in await loop.actions(tenant)}
    assert routed == {
        (response_event_id(tenant, "api", "f1"), "detractor-call"),
        # 80 hours is past the call's 72 but within the thank-you's 168.
        (response_event_id(tenant, "api", "s2"), "promoter-thank-you"),
    }

    async def thank_you_sent() -> bool:
        return any("c-s2@" in str(m["To"]) for m in loop.mails(tenant))

    await wait_until(thank_you_sent, 60, "the late promoter's thank-you")
    assert {t["response_event_id"] for t in await loop.tasks(tenant)} == {
        str(response_event_id(tenant, "api", "f1"))
    }
    assert not [m for m in loop.mails(tenant) if "c-h2@" in str(m["To"])]
