"""Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256(raw body)>`, no timestamp; the
answers are in the body, keyed by `field.ref` (stable, set in the form) and `field.id`."""

from __future__ import annotations

from typing import Any

from anbefal.ingest.sources.config import Source
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
    to_response,
)

# The value of each answer type sits under a key of the same name, except these.
_VALUE_KEYS = {"choice": "choice", "choices": "choices", "phone_number": "phone_number"}


def _value(answer: dict[str, Any]) -> Any:
    kind = answer.get("type")
    if not isinstance(kind, str):
        return None
    value = answer.get(_VALUE_KEYS.get(kind, kind))
    if kind == "choice" and isinstance(value, dict):
        return value.get("label")
    return value


class TypeformAdapter:
    tool = "typeform"

    def verify(self, delivery: Delivery, source: Source) -> None:
        header = delivery.header("typeform-signature")
        scheme, _, signature = header.partition("=")
        if scheme != "sha256":
            raise SignatureInvalid("Typeform-Signature must be sha256=<base64>")
        expected = hmac_digest(source.secret.encode(), delivery.body)
        require_equal(expected, signature, encoding="base64", what="Typeform-Signature")

    def parse(self, delivery: Delivery, source: Source) -> Parsed:
        doc = load_json(delivery.body)
        event_type = require_str(doc, "event_type")
        if event_type != "form_response":
            # Partial responses (`form_response_partial`) are not finished answers.
            return Ignored(f"event_type {event_type} is not a finished response")
        response = require(doc, "form_response")
        fields: dict[str, Any] = {}
        types: dict[str, str] = {}
        definition = response.get("definition") if isinstance(response, dict) else None
        for declared in (
            (definition or {}).get("fields", []) if isinstance(definition, dict) else []
        ):
            if isinstance(declared, dict) and isinstance(declared.get("type"), str):
                for key in (declared.get("ref"), declared.get("id")):
                    if isinstance(key, str):
                        types[key] = declared["type"]
        answers = require(doc, "form_response", "answers")
        if not isinstance(answers, list):
            raise PayloadInvalid("form_response.answers must be a list")
        for answer in answers:
            if not isinstance(answer, dict) or not isinstance(answer.get("field"), dict):
                continue
            for key in (answer["field"].get("ref"), answer["field"].get("id")):
                if isinstance(key, str):
                    fields[key] = _value(answer)
        hidden = response.get("hidden")
        if isinstance(hidden, dict):
            fields.update({k: v for k, v in hidden.items() if k not in fields})
        submission = Submission(
            response_id=require_str(doc, "form_response", "token"),
            survey_id=require_str(doc, "form_response", "form_id"),
            answered_at=parse_time(
                require(doc, "form_response", "submitted_at"), "form_response.submitted_at"
            ),
            fields=fields,
            field_types=types,
        )
        return [to_response(submission, source)]


ADAPTER = TypeformAdapter()
