"""Qualtrics event subscriptions: application/x-www-form-urlencoded with `Topic`, `MSG` (a JSON
string of ids) and `HMAC` = hex HMAC-SHA512 of the MSG value with the subscription's sharedKey;
no timestamp. The answer is fetched from `GET /API/v3/surveys/{survey}/responses/{response}`,
whose `result.values` holds the answers by question id (`QID3`, `QID4_TEXT`) and embedded data."""

from __future__ import annotations

from typing import Any

from anbefal.ingest.schemas import ResponseIn
from anbefal.ingest.sources.config import Source
from anbefal.ingest.webhooks.adapters.base import (
    Delivery,
    FetchRequest,
    Ignored,
    MalformedBody,
    Parsed,
    PayloadInvalid,
    SignatureInvalid,
    Submission,
    VendorApi,
    check_survey,
    hmac_digest,
    load_json,
    parse_time,
    require,
    require_equal,
    require_str,
    to_response,
)
from anbefal.ingest.webhooks.adapters.forms import parse_urlencoded


class QualtricsAdapter:
    tool = "qualtrics"
    # The completedResponse event can come before the responses API serves the answer.
    not_found_while_new = True

    def verify(self, delivery: Delivery, source: Source) -> None:
        try:
            form = parse_urlencoded(delivery.body)
        except MalformedBody as exc:
            raise SignatureInvalid(f"cannot read the form to check its HMAC: {exc}") from exc
        expected = hmac_digest(source.secret.encode(), form.get("MSG", "").encode(), "sha512")
        require_equal(expected, form.get("HMAC", ""), encoding="hex", what="HMAC")

    def parse(self, delivery: Delivery, source: Source) -> Parsed:
        form = parse_urlencoded(delivery.body)
        msg = load_json(form.get("MSG", ""), "MSG")
        topic = form.get("Topic", "")
        if ".surveyengine.completedResponse." not in f".{topic}":
            return Ignored(f"topic {topic!r} is not a completed response")
        survey_id = require_str(msg, "SurveyID")
        check_survey(source, survey_id)
        return FetchRequest(survey_id=survey_id, response_id=require_str(msg, "ResponseID"))

    async def fetch(
        self, api: VendorApi, source: Source, request: FetchRequest
    ) -> list[ResponseIn] | Ignored:
        answer = await api.get_json(
            source,
            ("API", "v3", "surveys", request.survey_id, "responses", request.response_id),
            {"X-API-TOKEN": source.api_token or ""},
        )
        values = require(answer, "result", "values")
        if not isinstance(values, dict):
            raise PayloadInvalid("result.values must be an object")
        fields: dict[str, Any] = dict(values)
        submission = Submission(
            response_id=request.response_id,
            survey_id=request.survey_id,
            answered_at=parse_time(
                values.get("endDate") or require(values, "recordedDate"), "values.endDate"
            ),
            fields=fields,
        )
        return [to_response(submission, source)]


ADAPTER = QualtricsAdapter()
