"""Tally: `Tally-Signature: <base64 HMAC-SHA256(raw body)>`, no timestamp. Fields are a list of
`{key, label, type, value}`; the question is named by its stable `key`, hidden fields by label."""

from __future__ import annotations

from typing import Any

from anbefal.ingest.sources.config import Source
from anbefal.ingest.webhooks.adapters.base import (
    Delivery,
    Ignored,
    Parsed,
    PayloadInvalid,
    Submission,
    hmac_digest,
    load_json,
    parse_time,
    require,
    require_equal,
    require_str,
    to_response,
)


class TallyAdapter:
    tool = "tally"

    def verify(self, delivery: Delivery, source: Source) -> None:
        expected = hmac_digest(source.secret.encode(), delivery.body)
        require_equal(
            expected, delivery.header("tally-signature"), encoding="base64", what="Tally-Signature"
        )

    def parse(self, delivery: Delivery, source: Source) -> Parsed:
        doc = load_json(delivery.body)
        event_type = require_str(doc, "eventType")
        if event_type != "FORM_RESPONSE":
            return Ignored(f"eventType {event_type} is not a form response")
        items = require(doc, "data", "fields")
        if not isinstance(items, list):
            raise PayloadInvalid("data.fields must be a list")
        fields: dict[str, Any] = {}
        types: dict[str, str] = {}
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                continue
            fields[item["key"]] = item.get("value")
            if isinstance(item.get("type"), str):
                types[item["key"]] = item["type"]
            label = item.get("label")
            if isinstance(label, str) and label not in fields:
                fields[label] = item.get("value")
                if isinstance(item.get("type"), str):
                    types[label] = item["type"]
        submission = Submission(
            response_id=require_str(doc, "data", "responseId"),
            survey_id=require_str(doc, "data", "formId"),
            answered_at=parse_time(require(doc, "data", "createdAt"), "data.createdAt"),
            fields=fields,
            field_types=types,
        )
        return [to_response(submission, source)]


ADAPTER = TallyAdapter()
