"""Delighted: `X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256(raw body)>` keyed with the
account's API key, no timestamp. `survey_response.created` fires on the score click (usually no
comment yet) and `survey_response.updated` when the comment arrives: both carry the same response
id, and the update gets a higher version, so it replaces the first rather than adding an answer."""

from __future__ import annotations

from typing import Any

from anbefal.ingest.sources.config import FieldMap, Source
from anbefal.ingest.webhooks.adapters.base import (
    Delivery,
    Ignored,
    Parsed,
    PayloadInvalid,
    SignatureInvalid,
    Submission,
    hmac_digest,
    load_json,
    parse_time,
    require,
    require_equal,
    require_str,
    stage_version,
    to_response,
)

_STAGES = {"survey_response.created": 0, "survey_response.updated": 1}
# Delighted's 0-10 survey types; CSAT, CES and the rest are on other scales.
_SCALED = {"nps", "enps"}


class DelightedAdapter:
    tool = "delighted"

    def verify(self, delivery: Delivery, source: Source) -> None:
        scheme, _, signature = delivery.header("x-delighted-webhook-signature").partition("=")
        if scheme != "sha256":
            raise SignatureInvalid("X-Delighted-Webhook-Signature must be sha256=<hex>")
        expected = hmac_digest(source.secret.encode(), delivery.body)
        require_equal(expected, signature, encoding="hex", what="X-Delighted-Webhook-Signature")

    def parse(self, delivery: Delivery, source: Source) -> Parsed:
        doc = load_json(delivery.body)
        event_type = require_str(doc, "event_type")
        if event_type not in _STAGES:
            return Ignored(f"event_type {event_type} is not a survey response")
        data = require(doc, "event_data")
        if not isinstance(data, dict):
            raise PayloadInvalid("event_data must be an object")
        survey_type = data.get("survey_type", "nps")
        if survey_type not in _SCALED:
            raise PayloadInvalid(
                f"survey_type {survey_type!r} is not on the 0-10 scale",
                [{"field": "event_data.survey_type", "message": f"{survey_type!r}"}],
            )
        person: dict[str, Any] = data["person"] if isinstance(data.get("person"), dict) else {}
        properties = data.get("person_properties")
        fields: dict[str, Any] = dict(properties) if isinstance(properties, dict) else {}
        fields["score"] = require(doc, "event_data", "score")
        fields["comment"] = data.get("comment")
        created = parse_time(require(doc, "event_data", "created_at"), "event_data.created_at")
        updated = parse_time(data.get("updated_at", data["created_at"]), "event_data.updated_at")
        submission = Submission(
            response_id=require_str(doc, "event_data", "id"),
            answered_at=created,
            version=stage_version(updated, _STAGES[event_type]),
            fields=fields,
            respondent={
                "id": person.get("id"),
                "name": person.get("name"),
                "email": person.get("email"),
            },
        )
        # The score and comment are Delighted's own fields; the map only adds hidden ones.
        mapped = FieldMap(
            score="score",
            comment="comment",
            respondent=source.fields.respondent,
            segments=source.fields.segments,
            owners=source.fields.owners,
        )
        return [to_response(submission, source.model_copy(update={"fields": mapped}))]


ADAPTER = DelightedAdapter()
