"""The handler against a real PostgreSQL: debounce, re-evaluation, cool-down, fallback owners.

The handler is called directly (as the consumer loop calls it, in one transaction per batch);
what leaves is read from the outbox, which is exactly what the relay publishes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.closed_loop import repository
from anbefal.closed_loop.actions import same
from anbefal.closed_loop.handlers import release_due, subscriptions
from anbefal.closed_loop.models import ActionRow
from anbefal.closed_loop.owners import AccountsDoc
from anbefal.closed_loop.rules import RoutingSettings, decide
from anbefal.common import topics
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import (
    Action,
    Owners,
    Respondent,
    Source,
    SurveyResponse,
    TaskEvent,
    action_id,
    response_event_id,
)
from anbefal.common.kafka import Message
from anbefal.common.metrics import tenant_label
from anbefal.devstack.testing import TEST_DATA_KEYS

pytestmark = pytest.mark.integration

KEYS = DataKeys(Keyring.parse(TEST_DATA_KEYS))

DAY = timedelta(days=1)
START = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
async def db(stack: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(stack.new_database(), pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def tenant() -> str:
    return f"h-{uuid.uuid4().hex[:8]}"


class Feed:
    """Answers for one tenant, handed to the handler as the consumer loop would."""

    def __init__(self, db: async_sessionmaker[AsyncSession], tenant: str, debounce_s: float):
        self.db, self.tenant, self.debounce_s = db, tenant, debounce_s
        self.offset = 0

    def answer(
        self, rid: str, score: int, comment: str | None = None, *, version: int = 1,
        respondent: str = "c-1", at: datetime = START, director: str | None = "d@x.dk",
        account: str | None = None,
    ) -> SurveyResponse:  # fmt: skip
        return SurveyResponse(
            event_id=response_event_id(self.tenant, "api", rid), version=version,
            tenant=self.tenant, kind="nps", score=score, comment=comment, answered_at=at,
            received_at=at, source=Source(tool="api", response_id=rid),
            respondent=Respondent(key=respondent, email=f"{respondent}@example.com",
                                  account_id=account),
            owners=Owners(director=director, salesperson="s@x.dk" if director else None),
        )  # fmt: skip

    async def send(self, *answers: SurveyResponse | TaskEvent) -> None:
        messages = []
        for a in answers:
            self.offset += 1
            topic = topics.RESPONSES if isinstance(a, SurveyResponse) else topics.TASK_EVENTS
            messages.append(Message(a, topic, 0, self.offset, a.key, ()))
        async with self.db() as session, session.begin():
            await subscriptions(self.debounce_s, KEYS).dispatch(session, messages)

    async def release(self, after: timedelta = timedelta(hours=1)) -> int:
        async with self.db() as session, session.begin():
            return await release_due(session, KEYS, now=datetime.now(UTC) + after)

    async def published(self) -> list[Action]:
        """Every action revision in the outbox, by (answer, rule, revision)."""
        async with self.db() as session:
            rows = await session.execute(
                text(
                    "SELECT payload FROM closed_loop.outbox"
                    " WHERE tenant = :t AND topic = 'anbefal.actions.v1'"
                ),
                {"t": self.tenant},
            )
            actions = [Action.model_validate_json(p) for (p,) in rows]
        return sorted(actions, key=lambda a: (a.answered_at, a.rule_id, a.revision))

    async def rows(self) -> list[ActionRow]:
        async with self.db() as session:
            found = await session.scalars(select(ActionRow).where(ActionRow.tenant == self.tenant))
            return list(found)


def summary(actions: list[Action]) -> list[tuple[str, int, bool, str | None]]:
    return [(a.rule_id, a.revision, a.cancelled, a.comment) for a in actions]


async def test_a_late_comment_is_folded_into_the_held_action(db: Any, tenant: str) -> None:
    feed = Feed(db, tenant, debounce_s=60)
    await feed.send(feed.answer("r1", 3))
    assert await feed.published() == []  # held for the comment
    await feed.send(feed.answer("r1", 3, "Slow support", version=2))
    (call,) = await feed.published()
    assert summary([call]) == [("detractor-call", 1, False, "Slow support")]
    assert call.response_version == 2
    assert await feed.release() == 0  # nothing held any more


async def test_both_versions_in_one_batch_make_one_action_with_the_comment(
    db: Any, tenant: str
) -> None:
    feed = Feed(db, tenant, debounce_s=60)
    await feed.send(feed.answer("r1", 3), feed.answer("r1", 3, "Slow support", version=2))
    (call,) = await feed.published()  # not held: the comment is there
    assert (call.revision, call.response_version, call.comment) == (1, 2, "Slow support")


async def test_without_a_late_comment_the_held_action_leaves_when_the_wait_ends(
    db: Any, tenant: str
) -> None:
    feed = Feed(db, tenant, debounce_s=60)
    await feed.send(feed.answer("r1", 3))
    assert await feed.release(after=timedelta(seconds=1)) == 0  # still inside the window
    assert await feed.release() == 1
    assert summary(await feed.published()) == [("detractor-call", 1, False, None)]
    # The comment after release: a second revision of the same action.
    await feed.send(feed.answer("r1", 3, "Slow support", version=2))
    published = await feed.published()
    assert summary(published) == [
        ("detractor-call", 1, False, None),
        ("detractor-call", 2, False, "Slow support"),
    ]
    assert {a.action_id for a in published} == {action_id(published[0].response_event_id,
                                                           "detractor-call")}  # fmt: skip


async def test_a_changed_score_cancels_and_replaces_the_action(db: Any, tenant: str) -> None:
    feed = Feed(db, tenant, debounce_s=60)
    await feed.send(feed.answer("r1", 3, "meh"))
    await feed.send(feed.answer("r1", 8, "meh, actually fine", version=2))
    call, cancel, follow_up = await feed.published()
    assert summary([call, cancel]) == [
        ("detractor-call", 1, False, "meh"),
        ("detractor-call", 2, True, "meh"),
    ]
    assert (follow_up.rule_id, follow_up.revision, follow_up.supersedes) == (
        "passive-follow-up", 1, call.action_id,
    )  # fmt: skip
    # A version older than the one stored arrives late: it changes nothing.
    await feed.send(feed.answer("r1", 3, "meh", version=1))
    assert len(await feed.published()) == 3


async def test_a_held_action_whose_rule_stops_matching_is_never_sent(db: Any, tenant: str) -> None:
    feed = Feed(db, tenant, debounce_s=60)
    await feed.send(feed.answer("r1", 3))
    await feed.send(feed.answer("r1", 10, "Great after all", version=2))
    assert await feed.release() == 0
    (thanks,) = await feed.published()
    assert (thanks.rule_id, thanks.revision) == ("promoter-thank-you", 1)
    assert thanks.supersedes == action_id(thanks.response_event_id, "detractor-call")
    cancelled = [r for r in await feed.rows() if r.rule_id == "detractor-call"]
    assert [(r.cancelled, r.released_revision) for r in cancelled] == [(True, 0)]


async def test_redelivery_decides_nothing_again(db: Any, tenant: str) -> None:
    feed = Feed(db, tenant, debounce_s=0)
    answer = feed.answer("r1", 2, "bad")
    await feed.send(answer, answer)
    await feed.send(answer)
    assert summary(await feed.published()) == [("detractor-call", 1, False, "bad")]


async def test_an_action_row_keeps_the_json_it_published(db: Any, tenant: str) -> None:
    # Each batch reads back every earlier action of its respondents; stored as written (json,
    # not jsonb) its payload is read back as the text it is, not rebuilt from a binary form,
    # which cost PostgreSQL about 8 µs per row loaded.
    feed = Feed(db, tenant, debounce_s=0)
    # No plaintext contact (ingest seals it before it leaves): the outbox's copy is not resealed.
    answers = [
        feed.answer(rid, score, "x").model_copy(update={"respondent": Respondent(key=rid)})
        for rid, score in (("r1", 2), ("r2", 8))
    ]
    await feed.send(*answers)
    async with db() as session:
        stored = await session.execute(
            text(
                "SELECT a.payload::text, o.payload FROM closed_loop.actions AS a"
                " JOIN closed_loop.outbox AS o ON o.id = a.action_id WHERE a.tenant = :t"
            ),
            {"t": tenant},
        )
        pairs = [(row[0], bytes(row[1]).decode()) for row in stored]
    assert len(pairs) == 2
    assert all(kept == published for kept, published in pairs), pairs


async def test_cool_down_attaches_a_second_detractor_answer(db: Any, tenant: str) -> None:
    feed = Feed(db, tenant, debounce_s=0)
    await feed.send(feed.answer("r1", 2, "bad"))
    await feed.send(feed.answer("r2", 4, "still bad", at=START + 2 * DAY))
    first, second = await feed.published()
    assert (first.rule_id, first.revision, first.attached) == ("detractor-call", 1, [])
    assert (second.action_id, second.revision) == (first.action_id, 2)
    assert [(a.score, a.comment) for a in second.attached] == [(4, "still bad")]
    # Another respondent, and the same respondent after the cool-down, get calls of their own.
    await feed.send(
        feed.answer("r3", 1, "no", respondent="c-2", at=START + 2 * DAY),
        feed.answer("r4", 0, "never", at=START + 8 * DAY),
    )
    calls = {a.action_id for a in await feed.published()}
    assert len(calls) == 3
    # The attached answer's score changes to a promoter's: it leaves the call, gets a thanks.
    await feed.send(feed.answer("r2", 9, "fixed now", version=2, at=START + 2 * DAY))
    published = await feed.published()
    by_rule = {(a.rule_id, a.revision): a for a in published if a.action_id == first.action_id}
    assert by_rule[("detractor-call", 3)].attached == []
    r2 = response_event_id(tenant, "api", "r2")
    assert [a.rule_id for a in published if a.response_event_id == r2] == ["promoter-thank-you"]


async def test_a_cancelled_open_action_hands_its_attached_answers_on(db: Any, tenant: str) -> None:
    feed = Feed(db, tenant, debounce_s=0)
    await feed.send(feed.answer("r1", 2, "bad"))
    await feed.send(feed.answer("r2", 4, "still bad", at=START + DAY))
    await feed.send(feed.answer("r3", 5, "and again", at=START + 2 * DAY))
    await feed.send(feed.answer("r1", 9, "sorted", version=2))  # the first is a promoter now
    calls = [a for a in await feed.published() if a.rule_id == "detractor-call"]
    latest = {a.action_id: a for a in calls}  # sorted by revision: the last one wins
    open_calls = [a for a in latest.values() if not a.cancelled]
    (promoted,) = open_calls
    assert promoted.comment == "still bad"
    assert [a.comment for a in promoted.attached] == ["and again"]


async def test_owners_come_from_the_account_and_an_unowned_task_goes_to_the_team(
    db: Any, tenant: str
) -> None:
    async with db() as session, session.begin():
        await repository.replace_accounts(
            session, tenant,
            AccountsDoc.model_validate(
                {"accounts": [{"account_id": "acme", "director": "acme-dir@x.dk"}]}
            ),
        )  # fmt: skip
    before = REGISTRY.get_sample_value(
        "anbefal_closed_loop_unowned_actions_total",
        {"tenant": tenant_label(tenant), "type": "call_task"},
    )
    feed = Feed(db, tenant, debounce_s=0)
    await feed.send(
        feed.answer("r1", 3, "x", respondent="c-1", director=None, account="acme"),
        feed.answer("r2", 3, "y", respondent="c-2", director=None),
    )
    owned, unowned = await feed.published()
    assert (owned.assignee, owned.assignee_role) == ("acme-dir@x.dk", "director")
    assert (unowned.assignee, unowned.assignee_role) == (None, "team")
    after = REGISTRY.get_sample_value(
        "anbefal_closed_loop_unowned_actions_total",
        {"tenant": tenant_label(tenant), "type": "call_task"},
    )
    assert (before or 0) + 1 == after


async def test_a_completed_task_ends_the_cool_down(db: Any, tenant: str) -> None:
    feed = Feed(db, tenant, debounce_s=0)
    await feed.send(feed.answer("r1", 2, "bad"))
    (call,) = await feed.published()
    done = TaskEvent(
        event_id=uuid.uuid4(), tenant=tenant, task_id=uuid.uuid4(), action_id=call.action_id,
        type="completed", at=START + DAY, actor="ida@x.dk",
    )  # fmt: skip
    await feed.send(done)
    # Two days later, inside the cool-down, but the call was made: this is a new call.
    await feed.send(feed.answer("r2", 4, "worse again", at=START + 2 * DAY))
    calls = [a for a in await feed.published() if a.rule_id == "detractor-call"]
    assert [(a.comment, a.revision, a.attached) for a in calls] == [
        ("bad", 1, []),
        ("worse again", 1, []),
    ]
    # Reopened: the next answer is attached to the open one again (the latest, r2's).
    reopened = done.model_copy(update={"event_id": uuid.uuid4(), "type": "reopened"})
    await feed.send(reopened)
    await feed.send(feed.answer("r3", 5, "hm", at=START + 3 * DAY))
    latest = (await feed.published())[-1]
    assert latest.comment == "worse again"
    assert [a.comment for a in latest.attached] == ["hm"]


@st.composite
def version_histories(draw: st.DrawFn) -> list[tuple[int, str | None, bool]]:
    """Versions of one answer: (score, comment, whether the debounce ends after it)."""
    return draw(
        st.lists(
            st.tuples(st.integers(0, 10), st.none() | st.sampled_from(["a", "b"]), st.booleans()),
            min_size=1,
            max_size=6,
        )
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=version_histories())
def test_any_version_history_ends_as_its_latest_version_calls_for(
    stack: Any, history: list[tuple[int, str | None, bool]]
) -> None:
    """Whatever the order of scores, comments and debounce ends: the live actions are those
    the latest version calls for, each published revision differs from the one before, and
    an action withdrawn before its release was never published."""
    url = _property_database(stack)

    async def run() -> None:
        engine = create_engine(url, pool_size=1)
        try:
            feed = Feed(create_sessionmaker(engine), f"p-{uuid.uuid4().hex[:8]}", debounce_s=60)
            for version, (score, comment, wait_ends) in enumerate(history, start=1):
                await feed.send(feed.answer("r1", score, comment, version=version))
                if wait_ends:
                    await feed.release()
            await feed.release()
            published = await feed.published()
            rows = await feed.rows()
        finally:
            await engine.dispose()
        score, comment, _ = history[-1]
        expected = {a.rule_id: a for a in decide(feed.answer("r1", score, comment),
                                                   RoutingSettings(), START)}  # fmt: skip
        final: dict[str, Action] = {}
        for action in published:
            previous = final.get(action.rule_id)
            assert action.revision == (previous.revision + 1 if previous else 1)
            if previous is not None:
                assert not same(previous, action)
            final[action.rule_id] = action
        live = {rule: a for rule, a in final.items() if not a.cancelled}
        assert set(live) == set(expected)
        assert {(a.score, a.comment) for a in live.values()} <= {(score, comment)}
        for row in rows:
            if row.released_revision == 0:
                assert row.cancelled  # every action still wanted was released at the end
                assert row.rule_id not in final

    asyncio.run(run())


_DATABASES: dict[int, str] = {}


def _property_database(stack: Any) -> str:
    # One database for all examples (each uses its own tenant); hypothesis cannot take
    # function-scoped fixtures, and a fresh database per example would dominate the run.
    if id(stack) not in _DATABASES:
        _DATABASES[id(stack)] = stack.new_database()
    return _DATABASES[id(stack)]


async def test_a_version_with_nothing_new_makes_no_revision(db: Any, tenant: str) -> None:
    feed = Feed(db, tenant, debounce_s=0)
    await feed.send(feed.answer("r1", 2, "bad"))
    again = feed.answer("r1", 2, "bad", version=2).model_copy(
        update={"received_at": START + timedelta(minutes=5)}
    )
    await feed.send(again)
    assert summary(await feed.published()) == [("detractor-call", 1, False, "bad")]


async def test_an_answer_wanted_again_after_a_cancel_joins_the_open_call(
    db: Any, tenant: str
) -> None:
    feed = Feed(db, tenant, debounce_s=0)
    await feed.send(feed.answer("r1", 2, "bad"))
    await feed.send(feed.answer("r2", 4, "still bad", at=START + DAY))
    await feed.send(feed.answer("r1", 9, "sorted", version=2))  # r2 takes over the call
    await feed.send(feed.answer("r1", 1, "broken again", version=3))
    latest: dict[uuid.UUID, Action] = {}
    for a in await feed.published():
        if a.rule_id == "detractor-call":
            latest[a.action_id] = a
    r1 = latest[action_id(response_event_id(tenant, "api", "r1"), "detractor-call")]
    r2 = latest[action_id(response_event_id(tenant, "api", "r2"), "detractor-call")]
    # r1 calls for a call again, but r2's call is open now: r1 is attached to it, not a
    # second call, and r1's own stays cancelled.
    assert (r1.cancelled, r1.revision) == (True, 3)  # 2 attached r2, 3 cancelled
    assert (r2.cancelled, r2.comment) == (False, "still bad")
    assert [(a.score, a.comment) for a in r2.attached] == [(1, "broken again")]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 2),  # which of the respondent's answers
            # Its score in this version: two detractors' and two others', so versions cross
            # the line often.
            st.sampled_from([1, 5, 8, 10]),
            st.none() | st.just("why"),
            st.booleans(),  # the debounce ends after this step
        ),
        min_size=1,
        max_size=10,
    )
)
def test_cool_down_every_detractor_is_in_exactly_one_open_call(
    stack: Any, steps: list[tuple[int, int, str | None, bool]]
) -> None:
    """One respondent, three answers a day apart (all inside one cool-down), versions in any
    order: every answer whose latest version is a detractor's is in exactly one open call,
    as that call's own answer or attached to it, with its latest score; nothing else is."""
    url = _property_database(stack)
    latest: dict[int, tuple[int, int, str | None]] = {}  # answer -> (version, score, comment)

    async def run() -> tuple[list[Action], Feed]:
        engine = create_engine(url, pool_size=1)
        try:
            feed = Feed(create_sessionmaker(engine), f"q-{uuid.uuid4().hex[:8]}", debounce_s=60)
            for n, score, comment, wait_ends in steps:
                version = latest.get(n, (0, 0, None))[0] + 1
                latest[n] = (version, score, comment)
                at = START + n * DAY
                await feed.send(feed.answer(f"r{n}", score, comment, version=version, at=at))
                if wait_ends:
                    await feed.release()
            await feed.release()
            return await feed.published(), feed
        finally:
            await engine.dispose()

    published, feed = asyncio.run(run())
    final: dict[uuid.UUID, Action] = {}
    for action in published:
        if action.rule_id == "detractor-call":
            final[action.action_id] = action  # sorted by revision: the last one stays
    seen: list[tuple[uuid.UUID, int, str | None]] = []
    for call in final.values():
        if call.cancelled:
            continue
        seen.append((call.response_event_id, call.score, call.comment))
        seen += [(a.response_event_id, a.score, a.comment) for a in call.attached]
    ids = {n: response_event_id(feed.tenant, "api", f"r{n}") for n in latest}
    expected = sorted(
        (ids[n], score, comment) for n, (_, score, comment) in latest.items() if score <= 6
    )
    assert sorted(seen) == expected


async def test_a_corrected_respondent_keeps_the_answers_attached_to_its_call(
    db: Any, tenant: str
) -> None:
    """A version naming another respondent (a corrected id) re-evaluates the answer's call:
    the answers attached to it belong to the respondent the call was made for, and must be
    loaded with it. They were not: the call lost its attached answers, and a cancelled call
    left them attached to nothing."""
    feed = Feed(db, tenant, debounce_s=0)
    await feed.send(feed.answer("r1", 2, "bad"))
    await feed.send(feed.answer("r2", 4, "still bad", at=START + DAY))
    await feed.send(feed.answer("r1", 3, "bad", version=2, respondent="c-9"))
    call = (await feed.published())[-1]
    assert (call.comment, call.revision) == ("bad", 3)
    assert [a.comment for a in call.attached] == ["still bad"]
    # Now a promoter: the call is cancelled and hands r2 on, as its own open call.
    await feed.send(feed.answer("r1", 9, "sorted", version=3, respondent="c-9"))
    latest = {a.action_id: a for a in await feed.published() if a.rule_id == "detractor-call"}
    (open_call,) = [a for a in latest.values() if not a.cancelled]
    assert (open_call.comment, open_call.attached) == ("still bad", [])


async def test_decisions_take_the_batch_clock(db: Any, tenant: str) -> None:
    """The handler decides at the consumer's `now` for the batch (one clock per transaction),
    not at a time it reads itself."""
    at = START + timedelta(hours=2)
    feed = Feed(db, tenant, debounce_s=0)
    message = Message(feed.answer("r1", 3, "Slow"), topics.RESPONSES, 0, 1, b"k", ())
    async with db() as session, session.begin():
        await subscriptions(0, KEYS, clock=lambda: at).dispatch(session, [message])
    (call,) = await feed.published()
    assert call.decided_at == at
