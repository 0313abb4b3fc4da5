"""Jotform: multipart/form-data with the answers as a JSON string in `rawRequest`, keyed
`q<N>_<name>`. Jotform does not sign webhooks, so the source's secret is a token the hook URL
carries (`?token=...`), compared in constant time. Values arrive as strings, HTML-escaped (PHP's
`htmlspecialchars` before `json_encode`): they are unescaped so a comment reads as written."""

from __future__ import annotations

import hmac
import html
import re
from typing import Any

from python_multipart.multipart import parse_options_header

from anbefal.ingest.sources.config import Source
from anbefal.ingest.webhooks.adapters.base import (
    Delivery,
    MalformedBody,
    Parsed,
    PayloadInvalid,
    SignatureInvalid,
    Submission,
    load_json,
    to_response,
)
from anbefal.ingest.webhooks.adapters.forms import parse_multipart

_QUESTION_KEY = re.compile(r"^q\d+_(.+)$")


class JotformAdapter:
    tool = "jotform"

    def verify(self, delivery: Delivery, source: Source) -> None:
        token = delivery.query.get("token", "")
        if not token:
            raise SignatureInvalid("missing ?token= (Jotform hooks carry the source's token)")
        if not hmac.compare_digest(token.encode(), source.secret.encode()):
            raise SignatureInvalid("token does not match the source's")

    def parse(self, delivery: Delivery, source: Source) -> Parsed:
        content_type, params = parse_options_header(delivery.header("content-type"))
        if content_type != b"multipart/form-data" or b"boundary" not in params:
            raise MalformedBody("Jotform posts multipart/form-data with a boundary")
        parts = parse_multipart(delivery.body, params[b"boundary"])
        raw = parts.get("rawRequest")
        if raw is None:
            raise PayloadInvalid(
                "rawRequest is missing", [{"field": "rawRequest", "message": "missing"}]
            )
        answers = load_json(raw, "rawRequest")
        if not isinstance(answers, dict):
            raise PayloadInvalid("rawRequest must be a JSON object")
        fields: dict[str, Any] = {}
        for key, raw_value in answers.items():
            value = _unescaped(raw_value)
            fields[key] = value
            match = _QUESTION_KEY.match(key)
            if match and match.group(1) not in answers:
                fields[match.group(1)] = value
        submission_id = parts.get("submissionID", "")
        if not submission_id:
            raise PayloadInvalid(
                "submissionID is missing", [{"field": "submissionID", "message": "missing"}]
            )
        submission = Submission(
            response_id=submission_id,
            survey_id=parts.get("formID") or None,
            # Jotform sends no submission time; the moment it reached us is the closest truth.
            answered_at=delivery.received_at,
            fields=fields,
        )
        return [to_response(submission, source)]


def _unescaped(value: Any) -> Any:
    """`&quot;soon&quot;` back to `"soon"`, inside composite answers (a name's parts) too."""
    if isinstance(value, str):
        return html.unescape(value)
    if isinstance(value, dict):
        return {k: _unescaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescaped(v) for v in value]
    return value


ADAPTER = JotformAdapter()
