"""SurveyMonkey: a thin `response_completed` event (ids only) signed `Sm-Signature: <base64
HMAC-SHA1(raw body)>` with the key `client_id&client_secret`, no timestamp. The answer is fetched
afterwards from `GET /v3/surveys/{survey}/responses/{response}/details`; the NPS question's
answer is a choice id, turned into 0-10 through the survey's definition (`.../details`)."""

from __future__ import annotations

from typing import Any

from anbefal.ingest.schemas import ResponseIn
from anbefal.ingest.sources.config import Source
from anbefal.ingest.webhooks.adapters.base import (
    Delivery,
    FetchRequest,
    Ignored,
    Parsed,
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


def _choices(survey: Any) -> dict[str, Any]:
    """choice id -> its value: the choice's text when it is a number (the NPS choices are
    "0".."10"), else the text itself (a comment-like choice)."""
    values: dict[str, Any] = {}
    pages = survey.get("pages", []) if isinstance(survey, dict) else []
    for page in pages if isinstance(pages, list) else []:
        for question in page.get("questions", []) if isinstance(page, dict) else []:
            answers = question.get("answers") if isinstance(question, dict) else None
            choices = answers.get("choices", []) if isinstance(answers, dict) else []
            for choice in choices if isinstance(choices, list) else []:
                if isinstance(choice, dict) and "id" in choice:
                    text = str(choice.get("text", "")).strip()
                    values[str(choice["id"])] = int(text) if text.isdigit() else text
    return values


class SurveyMonkeyAdapter:
    tool = "surveymonkey"
    not_found_while_new = False

    def verify(self, delivery: Delivery, source: Source) -> None:
        key = f"{source.client_id}&{source.secret}".encode()
        expected = hmac_digest(key, delivery.body, "sha1")
        require_equal(
            expected, delivery.header("sm-signature"), encoding="base64", what="Sm-Signature"
        )

    def parse(self, delivery: Delivery, source: Source) -> Parsed:
        doc = load_json(delivery.body)
        event_type = require_str(doc, "event_type")
        if event_type != "response_completed":
            return Ignored(f"event_type {event_type} is not a completed response")
        survey_id = require_str(doc, "resources", "survey_id")
        check_survey(source, survey_id)
        return FetchRequest(survey_id=survey_id, response_id=require_str(doc, "object_id"))

    async def fetch(
        self, api: VendorApi, source: Source, request: FetchRequest
    ) -> list[ResponseIn] | Ignored:
        survey_path = ("v3", "surveys", request.survey_id)
        auth = {"Authorization": f"Bearer {source.api_token}"}
        survey = await api.get_json(source, (*survey_path, "details"), auth)
        doc = await api.get_json(
            source, (*survey_path, "responses", request.response_id, "details"), auth
        )
        choices = _choices(survey)
        fields: dict[str, Any] = {}
        custom = doc.get("custom_variables") if isinstance(doc, dict) else None
        if isinstance(custom, dict):
            fields.update(custom)
        for page in require(doc, "pages"):
            for question in page.get("questions", []):
                for given in question.get("answers", []):
                    if "choice_id" in given:
                        fields[str(question["id"])] = choices.get(str(given["choice_id"]))
                    elif "text" in given:
                        fields[str(question["id"])] = given["text"]
        submission = Submission(
            response_id=request.response_id,
            survey_id=request.survey_id,
            answered_at=parse_time(require(doc, "date_created"), "date_created"),
            fields=fields,
        )
        return [to_response(submission, source)]


ADAPTER = SurveyMonkeyAdapter()
