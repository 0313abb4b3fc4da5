"""The action model, pure. Production loads its book from PostgreSQL, which returns rows in no
particular order: a decision must not depend on that order (else production could decide
differently from the dry run, and from itself on a redelivery)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from anbefal.closed_loop.actions import Book, decide_batch
from anbefal.closed_loop.rules import DEFAULT_RULE_SET, RoutingSettings, RuleSet, TenantRules
from anbefal.common.events import Owners, Respondent, Source, SurveyResponse, response_event_id

START = datetime(2026, 11, 2, 9, tzinfo=UTC)
NOW = START + timedelta(days=1)
TENANT = "acme"


def vip_rules() -> TenantRules:
    doc = DEFAULT_RULE_SET.model_dump()
    call, follow_up, thanks, ask_why = doc["rules"]
    vip = {**call, "id": "vip-call", "segments": {"tier": "gold"}, "stop": True,
           "cooldown_days": None, "due_hours": 4}  # fmt: skip
    rule_set = RuleSet.model_validate(
        {**doc, "rules": [vip, call, follow_up, thanks, {**ask_why, "enabled": True}]}
    )
    return TenantRules(RoutingSettings(director="d@x.dk"), rule_set)


def answer(
    rid: str, score: int, comment: str | None = None, *, version: int = 1, gold: bool = False,
    at: datetime = START,
) -> SurveyResponse:  # fmt: skip
    return SurveyResponse(
        event_id=response_event_id(TENANT, "api", rid), version=version, tenant=TENANT,
        kind="nps", score=score, comment=comment, answered_at=at, received_at=at,
        source=Source(tool="api", response_id=rid), respondent=Respondent(key="c-1"),
        segments={"tier": "gold"} if gold else {}, owners=Owners(),
    )  # fmt: skip


def books_in_both_orders(*answers: SurveyResponse) -> tuple[Book, Book]:
    """The book after `answers`, and the same states loaded in the opposite order."""
    book = Book()
    decide_batch(book, answers, {TENANT: vip_rules()}, NOW, 0.0)
    states = [dataclasses.replace(s) for s in book.states.values()]
    return Book(states), Book(reversed([dataclasses.replace(s) for s in states]))


def test_a_new_action_supersedes_the_first_cancelled_in_rule_order_whatever_the_load_order() -> (
    None
):
    # A detractor without a comment: a call, and (ask-why is on) an ask-why email.
    first, second = books_in_both_orders(answer("r1", 3))
    supersedes: list[uuid.UUID | None] = []
    for book in (first, second):
        # Now a promoter with a comment: both are cancelled, a thank-you replaces them.
        decide_batch(book, [answer("r1", 10, "great", version=2)], {TENANT: vip_rules()}, NOW, 0)
        (thanks,) = [s for s in book.states.values() if s.rule_id == "promoter-thank-you"]
        supersedes.append(thanks.payload.supersedes)
    call = next(s for s in first.states.values() if s.rule_id == "detractor-call")
    assert supersedes == [call.action_id, call.action_id]


def test_the_cool_down_attaches_to_the_same_open_call_whatever_the_load_order() -> None:
    # Two gold answers at the same moment: two VIP calls (that rule has no cool-down).
    first, second = books_in_both_orders(
        answer("r1", 2, "x", gold=True), answer("r2", 2, "y", gold=True)
    )
    roots: list[uuid.UUID | None] = []
    for book in (first, second):
        # A plain detractor a day later: the call rule's cool-down attaches it to a VIP call.
        later = answer("r3", 4, "z", at=START + timedelta(days=1))
        decide_batch(book, [later], {TENANT: vip_rules()}, NOW, 0.0)
        (attached,) = [s for s in book.states.values() if s.rule_id == "detractor-call"]
        roots.append(attached.attach_to)
    assert roots[0] is not None
    assert roots[0] == roots[1]
