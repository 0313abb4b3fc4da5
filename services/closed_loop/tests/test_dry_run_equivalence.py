"""The dry run reports what production does: generated answer streams (new answers, edits,
late comments, score changes that move an answer between rules, repeat respondents inside and
outside the cool-down, redeliveries, stale versions) go through the real consumer handler
against PostgreSQL, one transaction per batch, and through the dry run's in-memory book; both
end with the same actions per (answer, rule): created or not, attached (to which) or not,
cancelled or not, owner and content."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from anbefal.closed_loop import repository
from anbefal.closed_loop.action_store import state_of
from anbefal.closed_loop.actions import UNCHANGING, ActionState
from anbefal.closed_loop.dry_run import DryRun
from anbefal.closed_loop.handlers import release_due, subscriptions
from anbefal.closed_loop.models import ActionRow
from anbefal.closed_loop.rules import DEFAULT_RULE_SET, RoutingSettings, RuleSet, TenantRules
from anbefal.common import topics
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import Owners, Respondent, Source, SurveyResponse, response_event_id
from anbefal.common.kafka import Message
from anbefal.devstack.testing import TEST_DATA_KEYS

pytestmark = pytest.mark.integration

KEYS = DataKeys(Keyring.parse(TEST_DATA_KEYS))

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
NOW = START + timedelta(days=30)
# Answer days: 0-2, 0-4 and 4-7 are inside the default 7-day cool-down, 0-7 is on its edge
# (outside: the window is open), 0-12 and 4-12 outside.
DAYS = (0, 2, 4, 7, 12)
SCORES = (1, 3, 5, 6, 7, 8, 9, 10)


def _vip_rules() -> RuleSet:
    """Gold answers get a VIP call (no cool-down of its own) and stop there; everyone without
    a comment is asked why. The VIP call is a call task: the cool-down attaches to it too."""
    doc = DEFAULT_RULE_SET.model_dump()
    call, follow_up, thanks, ask_why = doc["rules"]
    vip = {**call, "id": "vip-call", "segments": {"tier": "gold"}, "stop": True,
           "cooldown_days": None, "due_hours": 4}  # fmt: skip
    return RuleSet.model_validate(
        {**doc, "rules": [vip, call, follow_up, thanks, {**ask_why, "enabled": True}]}
    )


RULE_SETS: dict[str, RuleSet | None] = {"default": None, "vip": _vip_rules()}


@dataclass(frozen=True)
class Slot:
    """One answer of the stream: who gave it and when."""

    respondent: str
    day: int


@dataclass(frozen=True)
class Version:
    slot: int
    score: int
    comment: str | None
    director: str | None
    gold: bool
    skip: bool  # the version number jumps by two; the skipped one may arrive late
    moved: bool = False  # this version names the other respondent (a corrected id)


@dataclass(frozen=True)
class Redeliver:
    index: int  # of the records sent so far


@dataclass(frozen=True)
class Stale:
    """The oldest skipped version arrives, after its successor."""


@dataclass(frozen=True)
class Cut:
    """The batch ends here; `release`: the releaser runs after it."""

    release: bool


Step = Version | Redeliver | Stale | Cut


@dataclass(frozen=True)
class Stream:
    rule_set: str
    debounce_s: float
    slots: tuple[Slot, ...]
    steps: tuple[Step, ...]


@st.composite
def streams(draw: st.DrawFn) -> Stream:
    slots = draw(
        st.lists(
            # Mostly one respondent, so the cool-down has work.
            st.builds(Slot, st.sampled_from(["c-1", "c-1", "c-2"]), st.sampled_from(DAYS)),
            min_size=2,
            max_size=4,
        )
    )

    def version(slot: st.SearchStrategy[int], moves: bool = True) -> st.SearchStrategy[Version]:
        return st.builds(
            Version,
            slot,
            st.sampled_from(SCORES),
            st.none() | st.sampled_from(["why", "because"]),
            st.none() | st.sampled_from(["d1@x.dk", "d2@x.dk"]),
            st.booleans(),
            st.booleans(),
            st.booleans() if moves else st.just(False),
        )

    # Every answer comes (in any order, batches cut anywhere), then edits, redeliveries and
    # stale versions.
    firsts: list[Step] = []
    for i in draw(st.permutations(range(len(slots)))):
        firsts.append(draw(version(st.just(i), moves=False)))
        if draw(st.booleans()):
            firsts.append(Cut(release=draw(st.booleans())))
    step = st.one_of(
        version(st.integers(0, len(slots) - 1)),
        version(st.integers(0, len(slots) - 1)),
        version(st.integers(0, len(slots) - 1)),
        st.builds(Redeliver, st.integers(0, 30)),
        st.just(Stale()),
        st.builds(Cut, st.booleans()),
    )
    return Stream(
        rule_set=draw(st.sampled_from(sorted(RULE_SETS))),
        debounce_s=draw(st.sampled_from([0.0, 60.0])),
        slots=tuple(slots),
        steps=(*firsts, *draw(st.lists(step, min_size=2, max_size=10))),
    )


def answer(tenant: str, stream: Stream, step: Version, version: int) -> SurveyResponse:
    slot = stream.slots[step.slot]
    who = {"c-1": "c-2", "c-2": "c-1"}[slot.respondent] if step.moved else slot.respondent
    rid = f"r{step.slot}"
    at = START + timedelta(days=slot.day)
    return SurveyResponse(
        event_id=response_event_id(tenant, "api", rid), version=version, tenant=tenant,
        kind="nps", score=step.score, comment=step.comment, answered_at=at, received_at=at,
        source=Source(tool="api", response_id=rid),
        respondent=Respondent(key=who, email=f"{who}@example.com"),
        segments={"tier": "gold"} if step.gold else {},
        owners=Owners(director=step.director),
    )  # fmt: skip


def batches(tenant: str, stream: Stream) -> Iterator[list[SurveyResponse] | None]:
    """The stream as the consumer would get it: batches of records; None: the releaser runs."""
    sent: list[SurveyResponse] = []
    skipped: list[SurveyResponse] = []
    versions: dict[int, int] = {}
    batch: list[SurveyResponse] = []
    for step in stream.steps:
        record: SurveyResponse | None = None
        if isinstance(step, Version):
            number = versions.get(step.slot, 0) + (2 if step.skip else 1)
            versions[step.slot] = number
            record = answer(tenant, stream, step, number)
            if step.skip and number > 2:
                # The skipped version said something else: a score from the other end.
                other = Version(step.slot, 10 - step.score, None, step.director, False, False)
                skipped.append(answer(tenant, stream, other, number - 1))
        elif isinstance(step, Redeliver) and sent:
            record = sent[step.index % len(sent)]
        elif isinstance(step, Stale) and skipped:
            record = skipped.pop(0)
        elif isinstance(step, Cut):
            if batch:
                yield batch
                batch = []
            if step.release:
                yield None
        if record is not None:
            sent.append(record)
            batch.append(record)
    if batch:
        yield batch


Outcome = dict[tuple[uuid.UUID, str], tuple[Any, ...]]


def outcome(states: Iterable[ActionState]) -> Outcome:
    """Per (answer, rule): cancelled, the (answer, rule) it is attached to, and the action's
    content (its owner among it) without what differs by when it was decided."""
    states = list(states)
    keys = {s.action_id: (s.response_event_id, s.rule_id) for s in states}
    return {
        (s.response_event_id, s.rule_id): (
            s.cancelled,
            keys.get(s.attach_to) if s.attach_to else None,
            s.payload.assignee,
            s.payload.model_dump(exclude=UNCHANGING),
        )
        for s in states
    }


async def production(url: str, tenant: str, stream: Stream) -> Outcome:
    engine = create_engine(url, pool_size=1)
    try:
        db = create_sessionmaker(engine)
        rule_set = RULE_SETS[stream.rule_set]
        if rule_set is not None:
            async with db() as session, session.begin():
                await repository.save_rule_set(session, tenant, rule_set, "test")
        offset = 0
        for batch in batches(tenant, stream):
            if batch is None:
                async with db() as session, session.begin():
                    await release_due(session, KEYS, now=datetime.now(UTC) + timedelta(hours=1))
                continue
            messages = []
            for record in batch:
                offset += 1
                messages.append(Message(record, topics.RESPONSES, 0, offset, record.key, ()))
            async with db() as session, session.begin():
                await subscriptions(stream.debounce_s, KEYS).dispatch(session, messages)
        async with db() as session:
            rows = await session.scalars(select(ActionRow).where(ActionRow.tenant == tenant))
            return outcome(state_of(r) for r in rows)
    finally:
        await engine.dispose()


def dry_run(tenant: str, stream: Stream) -> Outcome:
    rule_set = RULE_SETS[stream.rule_set] or DEFAULT_RULE_SET
    run = DryRun(TenantRules(RoutingSettings(), rule_set), NOW)
    for batch in batches(tenant, stream):
        if batch is not None:
            run.feed(batch)
    return outcome(run.final())


@pytest.fixture(scope="module")
def database(stack: Any) -> str:
    url: str = stack.new_database()
    return url


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stream=streams())
def test_the_dry_run_decides_what_production_decides(database: str, stream: Stream) -> None:
    tenant = f"eq-{uuid.uuid4().hex[:8]}"
    expected = asyncio.run(production(database, tenant, stream))
    assert dry_run(tenant, stream) == expected
    for cancelled, attached_to, _, payload in expected.values():
        event("cancelled" if cancelled else "attached" if attached_to else "own action")
        if payload["supersedes"]:
            event("supersedes")
        if payload["attached"] and not cancelled:
            event("with attached answers")
