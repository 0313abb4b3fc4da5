"""Formbricks: Standard Webhooks signatures; `responseCreated`, `responseUpdated` and
`responseFinished` for one answer, each with the whole response so far. Answers sit in
`data.data` keyed by question id; contact attributes in `data.contactAttributes`. Later stages
get higher versions, so the finished response (with its comment) replaces the first one."""

from __future__ import annotations

from typing import Any

from anbefal.ingest.sources.config import Source
from anbefal.ingest.webhooks.adapters.base import (
    Delivery,
    Ignored,
    Parsed,
    PayloadInvalid,
    Submission,
    load_json,
    parse_time,
    require,
    require_str,
    stage_version,
    to_response,
)
from anbefal.ingest.webhooks.adapters.generic import verify_standard

_STAGES = {"responseCreated": 0, "responseUpdated": 1, "responseFinished": 2}


class FormbricksAdapter:
    tool = "formbricks"

    def verify(self, delivery: Delivery, source: Source) -> None:
        verify_standard(delivery, source.secret)

    def parse(self, delivery: Delivery, source: Source) -> Parsed:
        doc = load_json(delivery.body)
        event = require_str(doc, "event")
        if event not in _STAGES:
            return Ignored(f"event {event} is not a response event")
        answers = require(doc, "data", "data")
        if not isinstance(answers, dict):
            raise PayloadInvalid("data.data must be an object of answers")
        fields: dict[str, Any] = {}
        attributes = doc["data"].get("contactAttributes")
        if isinstance(attributes, dict):
            fields.update(attributes)
        fields.update(answers)
        updated = parse_time(require(doc, "data", "updatedAt"), "data.updatedAt")
        submission = Submission(
            response_id=require_str(doc, "data", "id"),
            survey_id=require_str(doc, "data", "surveyId"),
            answered_at=parse_time(require(doc, "data", "createdAt"), "data.createdAt"),
            version=stage_version(updated, _STAGES[event]),
            fields=fields,
        )
        return [to_response(submission, source)]


ADAPTER = FormbricksAdapter()
