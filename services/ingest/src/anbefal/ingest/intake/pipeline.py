"""The one path every answer takes out of ingest: dedupe, publish, acknowledge.

An answer version already in Kafka is acknowledged again without a new event (see dedupe.py).
Its key is remembered only after the broker's ack, so a failed publish is retried in full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from anbefal.common import topics
from anbefal.common.events import (
    GENERIC_API,
    TENANT_PATTERN,
    Owners,
    Respondent,
    Source,
    SurveyResponse,
    response_event_id,
)
from anbefal.common.kafka import TRACE_HEADER, Publisher
from anbefal.common.logging import get_logger
from anbefal.ingest.intake.dedupe import DedupeStore
from anbefal.ingest.intake.sealing import SharedSealer
from anbefal.ingest.schemas import ResponseIn

log = get_logger(__name__)


M = TypeVar("M", bound=BaseModel)

_TENANT = re.compile(TENANT_PATTERN)
_object_setattr = object.__setattr__


def _trusted(model: type[M], fields: dict[str, Any], given: set[str]) -> M:
    """`model.model_construct(given, **fields)` without its loop over the model's fields (that
    loop costs more than validating): `fields` holds every field of `model`, in its order (the
    serializer writes them in the dict's order), each already valid. What pydantic itself sets
    on a constructed model; tests/test_pipeline.py checks the result byte for byte against the
    validated event."""
    built = model.__new__(model)
    _object_setattr(built, "__dict__", fields)
    _object_setattr(built, "__pydantic_fields_set__", given)
    _object_setattr(built, "__pydantic_extra__", None)
    _object_setattr(built, "__pydantic_private__", None)
    return built


_SOURCE_GIVEN = frozenset({"tool", "survey_id", "response_id"})
_CUSTOMER_GIVEN = frozenset({"key", "name", "email", "phone", "locale", "account_id"})
_EMPLOYEE_GIVEN = frozenset({"key", "locale"})
_OWNERS_GIVEN = frozenset({"salesperson", "director"})
_EVENT_GIVEN = frozenset(SurveyResponse.model_fields) - {"schema_version"}


def to_event(
    tenant: str, item: ResponseIn, received_at: datetime, tool: str = GENERIC_API
) -> SurveyResponse:
    """The answer as its event, built without validating it a second time: `ResponseIn`'s rules
    hold each of its values to at least the event's (validating the event again was about 40 %
    of a batch's answer in ingest). What `ResponseIn` does not check, the tenant and the time
    received, is checked here."""
    if _TENANT.fullmatch(tenant) is None:
        raise ValueError(f"tenant {tenant!r} does not match {TENANT_PATTERN}")
    if received_at.utcoffset() is None:
        raise ValueError("received_at has no time zone")
    respondent = item.respondent
    respondent_key = respondent.id or f"response:{item.response_id}"
    if item.kind == "enps":
        # Employees answer anonymously: ingest stores no name or contact details for them.
        name = email = phone = account_id = None
        given = _EMPLOYEE_GIVEN
    else:
        name, email, phone = respondent.name, respondent.email, respondent.phone
        account_id = respondent.account_id
        given = _CUSTOMER_GIVEN
    contact = _trusted(
        Respondent,
        {
            "key": respondent_key,
            "name": name,
            "email": email,
            "phone": phone,
            "locale": respondent.locale,
            "account_id": account_id,
            "sealed": None,
            "email_hash": None,
        },
        set(given),
    )
    # The generic API's ids are the caller's own; a tool's response ids are unique per survey.
    source_key = item.response_id if tool == GENERIC_API else f"{item.survey_id}/{item.response_id}"
    source = _trusted(
        Source,
        {"tool": tool, "survey_id": item.survey_id, "response_id": item.response_id},
        set(_SOURCE_GIVEN),
    )
    owners = item.owners
    return _trusted(
        SurveyResponse,
        {
            "schema_version": 1,
            "event_id": response_event_id(tenant, tool, source_key),
            "version": item.version,
            "tenant": tenant,
            "kind": item.kind,
            "score": item.score,
            "comment": item.comment or None,
            "answered_at": item.answered_at,
            "received_at": received_at,
            "source": source,
            "respondent": contact,
            # A copy, as validation made one: the event does not share the item's dict.
            "segments": dict(item.segments),
            "owners": _trusted(
                Owners,
                {"salesperson": owners.salesperson, "director": owners.director},
                set(_OWNERS_GIVEN),
            ),
            "history": item.history,
        },
        set(_EVENT_GIVEN),
    )


@dataclass(frozen=True)
class Outcome:
    event: SurveyResponse
    status: Literal["accepted", "duplicate"]


async def publish_answers(
    dedupe: DedupeStore,
    publisher: Publisher,
    events: list[SurveyResponse],
    trace_id: str,
    *,
    sealer: SharedSealer,
) -> list[Outcome]:
    """Publish the versions not yet in Kafka, the respondents' contact data sealed with their
    data keys; returns once the broker acknowledged them.

    Raises BrokerUnavailable when it did not: then nothing may be acknowledged. Without the
    database no new respondent's key can be minted: that raises too (a 503, retried)."""
    seen = await dedupe.seen([(e.event_id, e.version) for e in events])
    outcomes: list[Outcome] = []
    fresh: list[SurveyResponse] = []
    for event in events:
        key = (event.event_id, event.version)
        if key in seen:
            outcomes.append(Outcome(event, "duplicate"))
            continue
        seen.add(key)  # the same answer twice in one batch is sent once
        fresh.append(event)
        outcomes.append(Outcome(event, "accepted"))
    if fresh:
        fresh = await sealer.seal(fresh)
        headers = [(TRACE_HEADER, trace_id.encode())]
        await publisher.send_many(topics.RESPONSES, [(e.key, e.to_bytes(), headers) for e in fresh])
        dedupe.remember([(e.event_id, e.version) for e in fresh])
    return outcomes
