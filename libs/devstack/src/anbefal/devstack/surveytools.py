"""Survey tools as tests and benchmarks meet them: realistic payloads, signed exactly as each tool
signs (see shared/reference/survey-webhooks.md), and a local fake of the SurveyMonkey and
Qualtrics APIs that thin webhooks are fetched from.

The payload shapes follow the tools' documented field names; the values are invented.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

TYPEFORM_FORM_ID = "aBc123"
WHSEC = "whsec_" + base64.b64encode(b"anbefal-test-standard-webhooks!!").decode()


@dataclass(frozen=True)
class Signed:
    """A request as the tool would send it."""

    body: bytes
    headers: dict[str, str]
    query: str = ""


def _json(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _b64_hmac(key: bytes, message: bytes, algorithm: str = "sha256") -> str:
    return base64.b64encode(hmac.new(key, message, algorithm).digest()).decode()


def standard_webhooks(secret: str, body: bytes, *, at: float | None = None) -> dict[str, str]:
    """Standard Webhooks headers for `body` (Formbricks, Svix, our Apps Script)."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    timestamp = str(int(time.time() if at is None else at))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = _b64_hmac(key, f"{msg_id}.{timestamp}.".encode() + body)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": f"v1,{signature}",
    }


def generic(secret: str, answer: dict[str, Any], *, at: float | None = None) -> Signed:
    body = _json(answer)
    return Signed(body, standard_webhooks(secret, body, at=at))


def typeform(
    secret: str,
    *,
    token: str,
    score: int | str,
    comment: str | None = "Fast support",
    hidden: dict[str, str] | None = None,
    field_type: str = "opinion_scale",
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
            "submitted_at": "2026-11-30T10:00:02Z",
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
    body = _json(doc)
    signature = _b64_hmac(secret.encode(), body)
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
    body = _json(doc)
    return Signed(
        body,
        {"content-type": "application/json", "tally-signature": _b64_hmac(secret.encode(), body)},
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
    body = _json(doc)
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
    body = _json(doc)
    return Signed(body, standard_webhooks(secret, body, at=at))


def jotform(token: str, *, submission_id: str, score: str) -> Signed:
    boundary = f"----anbefal{uuid.uuid4().hex}"
    raw = json.dumps({"q3_howLikely": score, "q4_whyThis": "Kind staff", "q5_customerId": "C-42"})
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
    body = _json(doc)
    key = f"{client_id}&{client_secret}".encode()
    return Signed(
        body,
        {
            "content-type": "application/json",
            "sm-apikey": client_id,
            "sm-signature": _b64_hmac(key, body, "sha1"),
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


@dataclass
class FakeToolApi:
    """The parts of the SurveyMonkey v3 and Qualtrics v3 APIs ingest reads, served locally.

    `fail_first` makes the first N requests answer 503, to exercise the fetcher's retries."""

    token: str
    fail_first: int = 0
    requests: list[str] = field(default_factory=list)
    _sm: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    _qx: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    port: int = 0
    _server: Any = None
    _thread: threading.Thread | None = None

    def add_surveymonkey(
        self, survey_id: str, response_id: str, score: int, comment: str, department: str
    ) -> None:
        self._sm[(survey_id, response_id)] = {
            "id": response_id,
            "survey_id": survey_id,
            "response_status": "completed",
            "date_created": "2026-11-30T10:00:02+00:00",
            "date_modified": "2026-11-30T10:00:05+00:00",
            "custom_variables": {"customer_id": "C-42", "department": department},
            "pages": [
                {
                    "id": "p1",
                    "questions": [
                        {"id": "q-nps", "answers": [{"choice_id": f"c{score}"}]},
                        {"id": "q-why", "answers": [{"text": comment}]},
                    ],
                }
            ],
        }

    def add_qualtrics(self, survey_id: str, response_id: str, score: int, comment: str) -> None:
        self._qx[(survey_id, response_id)] = {
            "result": {
                "responseId": response_id,
                "values": {
                    "startDate": "2026-11-30T09:58:40Z",
                    "endDate": "2026-11-30T10:00:02Z",
                    "recordedDate": "2026-11-30T10:00:03.120Z",
                    "status": 0,
                    "finished": 1,
                    "QID1": score,
                    "QID2_TEXT": comment,
                    "CustomerID": "C-42",
                    "Department": "Support",
                },
                "labels": {"QID1": str(score)},
            },
            "meta": {"httpStatus": "200 - OK", "requestId": str(uuid.uuid4())},
        }

    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        def gate(request: Request, authorized: bool) -> JSONResponse | None:
            self.requests.append(request.url.path)
            if self.fail_first > 0:
                self.fail_first -= 1
                return JSONResponse({"error": "try later"}, 503)
            if not authorized:
                return JSONResponse({"error": "bad token"}, 401)
            return None

        async def sm_survey(request: Request) -> JSONResponse:
            refusal = gate(request, request.headers.get("authorization") == f"Bearer {self.token}")
            if refusal:
                return refusal
            choices = [{"id": f"c{n}", "text": str(n), "position": n + 1} for n in range(11)]
            return JSONResponse(
                {
                    "id": request.path_params["survey"],
                    "pages": [
                        {
                            "questions": [
                                {
                                    "id": "q-nps",
                                    "family": "matrix",
                                    "subtype": "rating",
                                    "answers": {"choices": choices},
                                },
                                {"id": "q-why", "family": "open_ended", "subtype": "essay"},
                            ]
                        }
                    ],
                }
            )

        async def sm_response(request: Request) -> JSONResponse:
            refusal = gate(request, request.headers.get("authorization") == f"Bearer {self.token}")
            if refusal:
                return refusal
            key = (request.path_params["survey"], request.path_params["response"])
            if key not in self._sm:
                return JSONResponse({"error": "not found"}, 404)
            return JSONResponse(self._sm[key])

        async def qx_response(request: Request) -> JSONResponse:
            refusal = gate(request, request.headers.get("x-api-token") == self.token)
            if refusal:
                return refusal
            key = (request.path_params["survey"], request.path_params["response"])
            if key not in self._qx:
                return JSONResponse({"error": "not found"}, 404)
            return JSONResponse(self._qx[key])

        return Starlette(
            routes=[
                Route("/v3/surveys/{survey}/details", sm_survey),
                Route("/v3/surveys/{survey}/responses/{response}/details", sm_response),
                Route("/API/v3/surveys/{survey}/responses/{response}", qx_response),
            ]
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeToolApi:
        import uvicorn

        from anbefal.devstack.testing import free_port

        self.port = free_port()
        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("fake tool API did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
