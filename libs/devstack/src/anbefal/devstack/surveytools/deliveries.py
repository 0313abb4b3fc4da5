"""Deliveries as each survey tool sends them: the tools' documented field names with invented
values, signed exactly as the tool signs."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import uuid
from typing import Any
from urllib.parse import urlencode

from anbefal.devstack.surveytools.signing import (
    TYPEFORM_FORM_ID,
    Signed,
    b64_hmac,
    json_body,
    standard_webhooks,
)


def typeform(
    secret: str,
    *,
    token: str,
    score: int | str,
    comment: str | None = "Fast support",
    hidden: dict[str, str] | None = None,
    field_type: str = "opinion_scale",
    submitted_at: str = "2026-11-30T10:00:02Z",
) -> Signed:
    answers: list[dict[str, Any]] = [
        {
            "type": "number",
            "number": score,
            "field": {"id": "Xk2f", "ref": "nps", "type": field_type},
        }
    ]
    if comment is not None:
        answers.append(
            {
                "type": "text",
                "text": comment,
                "field": {"id": "Pq9w", "ref": "why", "type": "long_text"},
            }
        )
    doc = {
        "event_id": f"01J{uuid.uuid4().hex[:20].upper()}",
        "event_type": "form_response",
        "form_response": {
            "form_id": TYPEFORM_FORM_ID,
            "token": token,
            "landed_at": "2026-11-30T09:59:10Z",
            "submitted_at": submitted_at,
            "hidden": hidden or {"customer_id": "C-42", "department": "Support"},
            "definition": {
                "id": "aBc123",
                "title": "How are we doing?",
                "fields": [
                    {"id": "Xk2f", "ref": "nps", "type": field_type, "title": "How likely ...?"},
                    {"id": "Pq9w", "ref": "why", "type": "long_text", "title": "Why?"},
                ],
            },
            "answers": answers,
        },
    }
    body = json_body(doc)
    signature = b64_hmac(secret.encode(), body)
    return Signed(
        body,
        {"content-type": "application/json", "typeform-signature": f"sha256={signature}"},
    )


def tally(secret: str, *, response_id: str, score: int, department: str = "Support") -> Signed:
    doc = {
        "eventId": str(uuid.uuid4()),
        "eventType": "FORM_RESPONSE",
        "createdAt": "2026-11-30T10:00:02.000Z",
        "data": {
            "responseId": response_id,
            "submissionId": response_id,
            "respondentId": "pQ9",
            "formId": "mBzNlP",
            "formName": "eNPS November",
            "createdAt": "2026-11-30T10:00:02.000Z",
            "fields": [
                {
                    "key": "question_aa11",
                    "label": "How likely ...?",
                    "type": "LINEAR_SCALE",
                    "value": score,
                },
                {"key": "question_bb22", "label": "Why?", "type": "TEXTAREA", "value": "Good team"},
                {
                    "key": "question_cc33",
                    "label": "department",
                    "type": "HIDDEN_FIELDS",
                    "value": department,
                },
            ],
        },
    }
    body = json_body(doc)
    return Signed(
        body,
        {"content-type": "application/json", "tally-signature": b64_hmac(secret.encode(), body)},
    )


def delighted(
    api_key: str,
    *,
    response_id: str,
    score: int,
    comment: str | None,
    event_type: str = "survey_response.created",
    created_at: int = 1_796_036_400,
    updated_at: int | None = None,
) -> Signed:
    doc = {
        "event_type": event_type,
        "event_id": hashlib.sha256(f"{response_id}{event_type}".encode()).hexdigest(),
        "event_data": {
            "id": response_id,
            "person": {
                "id": "5501",
                "email": "ida@example.com",
                "name": "Ida Holm",
                "created_at": created_at - 86_400,
            },
            "survey_type": "nps",
            "score": score,
            "comment": comment,
            "permalink": f"https://app.delighted.com/r/{response_id}",
            "created_at": created_at,
            "updated_at": updated_at or created_at,
            "person_properties": {"customer_id": "C-42", "Department": "Support"},
            "notes": [],
            "tags": [],
            "additional_answers": [],
        },
    }
    body = json_body(doc)
    signature = hmac.new(api_key.encode(), body, "sha256").hexdigest()
    return Signed(
        body,
        {
            "content-type": "application/json",
            "x-delighted-webhook-signature": f"sha256={signature}",
        },
    )


def formbricks(
    secret: str,
    *,
    response_id: str,
    event: str,
    answers: dict[str, Any],
    updated_at: str,
    at: float | None = None,
) -> Signed:
    doc = {
        "webhookId": "clwh123",
        "event": event,
        "data": {
            "id": response_id,
            "surveyId": "clsurv789",
            "createdAt": "2026-11-30T09:59:00.000Z",
            "updatedAt": updated_at,
            "finished": event == "responseFinished",
            "data": answers,
            "variables": {},
            "tags": [],
            "language": "default",
            "meta": {"source": "link", "url": "https://forms.example/s/clsurv789"},
            "contact": {"id": "clct1", "userId": "C-42"},
            "contactAttributes": {"email": "ida@example.com", "department": "Support"},
            "survey": {"title": "Customer NPS", "type": "link", "status": "inProgress"},
        },
    }
    body = json_body(doc)
    return Signed(body, standard_webhooks(secret, body, at=at))


def jotform(token: str, *, submission_id: str, score: str, comment: str = "Kind staff") -> Signed:
    boundary = f"----anbefal{uuid.uuid4().hex}"
    # Jotform builds rawRequest with PHP: each value through htmlspecialchars, then json_encode
    # (which also escapes "/" as "\/").
    answers = {"q3_howLikely": score, "q4_whyThis": comment, "q5_customerId": "C-42"}
    raw = json.dumps({k: html.escape(v) for k, v in answers.items()}).replace("/", "\\/")
    parts = {
        "formID": "230011223344",
        "submissionID": submission_id,
        "type": "WEB",
        "formTitle": "Customer NPS",
        "ip": "203.0.113.7",
        "pretty": f"How likely:{score}, Why:Kind staff",
        "rawRequest": raw,
    }
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in parts.items()
    ]
    body = ("".join(chunks) + f"--{boundary}--\r\n").encode()
    return Signed(
        body,
        {"content-type": f"multipart/form-data; boundary={boundary}"},
        query=urlencode({"token": token}),
    )


def surveymonkey(client_id: str, client_secret: str, *, survey_id: str, response_id: str) -> Signed:
    doc = {
        "name": "nps-hook",
        "filter_type": "collector",
        "filter_id": "400111",
        "event_type": "response_completed",
        "event_id": str(uuid.uuid4().int)[:10],
        "object_type": "response",
        "object_id": response_id,
        "event_datetime": "2026-11-30T10:00:02.123456+00:00",
        "resources": {
            "survey_id": survey_id,
            "collector_id": "400111",
            "respondent_id": response_id,
            "recipient_id": "500333",
            "user_id": "600444",
        },
    }
    body = json_body(doc)
    key = f"{client_id}&{client_secret}".encode()
    return Signed(
        body,
        {
            "content-type": "application/json",
            "sm-apikey": client_id,
            "sm-signature": b64_hmac(key, body, "sha1"),
        },
    )


def qualtrics(shared_key: str, *, survey_id: str, response_id: str) -> Signed:
    msg = json.dumps(
        {
            "Status": "Complete",
            "SurveyID": survey_id,
            "ResponseID": response_id,
            "CompletedDate": "2026-11-30 10:00:02",
            "BrandID": "acme",
        }
    )
    digest = hmac.new(shared_key.encode(), msg.encode(), "sha512").hexdigest()
    body = urlencode(
        {"Topic": f"acme.surveyengine.completedResponse.{survey_id}", "MSG": msg, "HMAC": digest}
    ).encode()
    return Signed(body, {"content-type": "application/x-www-form-urlencoded"})
