"""Arbitrary bodies and headers at every adapter: verification refuses all that is not signed, and
a signed body of any shape parses to answers or to a named refusal, never to an unexpected error
(which the route would turn into a 500)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anbefal.devstack import surveytools as tools
from anbefal.ingest.sources.config import Source, SourceIn
from anbefal.ingest.webhooks.adapters import ADAPTERS
from anbefal.ingest.webhooks.adapters.base import Delivery, PayloadInvalid, SignatureInvalid

SECRET = "fuzz-signing-secret-of-32-chars-or-more"
HEADER_NAMES = st.sampled_from(
    [
        "content-type",
        "typeform-signature",
        "tally-signature",
        "x-delighted-webhook-signature",
        "sm-signature",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "x-other",
    ]
)
HEADERS = st.dictionaries(HEADER_NAMES, st.text(max_size=80), max_size=6)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-20, 2**40)
    | st.floats()
    | st.text(max_size=20)
    # Values that steer the adapters past their first checks, into the deeper parsing.
    | st.sampled_from(
        [
            "form_response",
            "FORM_RESPONSE",
            "survey_response.created",
            "responseFinished",
            "response_completed",
            "nps",
            "why",
            "2026-11-30T10:00:02Z",
            "9",
            "number",
            "opinion_scale",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "event_type",
                    "event",
                    "eventType",
                    "form_response",
                    "answers",
                    "token",
                    "form_id",
                    "submitted_at",
                    "field",
                    "ref",
                    "id",
                    "type",
                    "number",
                    "data",
                    "fields",
                    "key",
                    "value",
                    "responseId",
                    "formId",
                    "createdAt",
                    "updatedAt",
                    "event_data",
                    "score",
                    "created_at",
                    "surveyId",
                    "resources",
                    "survey_id",
                    "object_id",
                    "hidden",
                    "definition",
                    "person",
                    "comment",
                    "response_id",
                    "answered_at",
                    "responses",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)
TOOLS = sorted(ADAPTERS)


def source(tool: str) -> Source:
    body: dict[str, Any] = {
        "tool": tool,
        "secret": tools.WHSEC if tool in ("generic", "formbricks") else SECRET,
        "fields": {} if tool in ("generic", "delighted") else {"score": "nps", "comment": "why"},
    }
    if tool in ("surveymonkey", "qualtrics"):
        body |= {
            "api_base_url": "https://fra1.qualtrics.com/API/v3" if tool == "qualtrics" else None,
            "api_token": "t",
            "client_id": "cid",
        }
    return Source.build("acme", "fuzz", SourceIn.model_validate(body))


def signed(tool: str, body: bytes, msg: str) -> Delivery:
    """`body` signed exactly as `tool` signs (for Qualtrics: `msg` in a signed form)."""
    key = SECRET.encode()
    b64 = base64.b64encode(hmac.new(key, body, "sha256").digest()).decode()
    headers = {"content-type": "application/json"}
    query: dict[str, str] = {}
    if tool == "typeform":
        headers["typeform-signature"] = f"sha256={b64}"
    elif tool == "tally":
        headers["tally-signature"] = b64
    elif tool == "delighted":
        headers["x-delighted-webhook-signature"] = (
            "sha256=" + hmac.new(key, body, "sha256").hexdigest()
        )
    elif tool == "surveymonkey":
        sm_key = f"cid&{SECRET}".encode()
        headers["sm-signature"] = base64.b64encode(hmac.new(sm_key, body, "sha1").digest()).decode()
    elif tool in ("generic", "formbricks"):
        headers = tools.standard_webhooks(tools.WHSEC, body)
    elif tool == "jotform":
        query["token"] = SECRET
        headers["content-type"] = "multipart/form-data; boundary=b0undary"
    elif tool == "qualtrics":
        digest = hmac.new(key, msg.encode(), hashlib.sha512).hexdigest()
        body = urlencode(
            {"Topic": "x.surveyengine.completedResponse.SV_1", "MSG": msg, "HMAC": digest}
        ).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    return Delivery(body=body, headers=headers, query=query)


@pytest.mark.parametrize("tool", TOOLS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=400) | JSON.map(lambda d: json.dumps(d).encode()), headers=HEADERS)
def test_unsigned_bodies_are_refused(tool: str, body: bytes, headers: dict[str, str]) -> None:
    delivery = Delivery(body=body, headers=headers, query={"token": "not-the-token"})
    with pytest.raises(SignatureInvalid):
        ADAPTERS[tool].verify(delivery, source(tool))


def is_utf8(body: bytes) -> bool:
    try:
        body.decode()
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("tool", TOOLS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=JSON, raw=st.binary(max_size=200), use_raw=st.booleans())
def test_signed_bodies_of_any_shape_never_break_the_adapter(
    tool: str, doc: Any, raw: bytes, use_raw: bool
) -> None:
    text = json.dumps(doc)
    body = raw if use_raw else text.encode()
    if tool == "jotform" and not use_raw:
        body = (
            b'--b0undary\r\nContent-Disposition: form-data; name="rawRequest"\r\n\r\n'
            + text.encode()
            + b'\r\n--b0undary\r\nContent-Disposition: form-data; name="submissionID"\r\n\r\n7\r\n'
            + b"--b0undary--\r\n"
        )
    delivery = signed(tool, body, text if not use_raw else raw.decode("latin-1"))
    adapter = ADAPTERS[tool]
    config = source(tool)
    if tool in ("generic", "formbricks") and not is_utf8(body):
        # Standard Webhooks signs text: such a body can only be refused, never parsed.
        with pytest.raises(SignatureInvalid, match="not UTF-8"):
            adapter.verify(delivery, config)
        return
    adapter.verify(delivery, config)  # signed correctly: must pass
    try:
        adapter.parse(delivery, config)
    except PayloadInvalid:
        pass  # a named refusal (400/422, or 200 "not scored")
