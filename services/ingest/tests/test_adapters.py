"""Every adapter against a realistic payload signed exactly as its tool signs, a tampered body,
and (where the scheme has one) a stale timestamp."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

import pytest

from anbefal.devstack import surveytools as tools
from anbefal.ingest.schemas import ResponseIn
from anbefal.ingest.sources.config import FieldMap, Source, SourceIn
from anbefal.ingest.webhooks.adapters import ADAPTERS
from anbefal.ingest.webhooks.adapters.base import (
    Delivery,
    FetchRequest,
    Ignored,
    PayloadInvalid,
    ScoreMissing,
    SignatureInvalid,
)

SECRET = "s3cret-signing-key-of-32-chars-or-more"


def source(tool: str, **fields: Any) -> Source:
    body: dict[str, Any] = {
        "tool": tool,
        "secret": tools.WHSEC if tool in ("generic", "formbricks") else SECRET,
        "fields": fields,
    }
    if tool in ("surveymonkey", "qualtrics"):
        body |= {
            "api_base_url": "https://fra1.qualtrics.com/API/v3" if tool == "qualtrics" else None,
            "api_token": "tok",
            "client_id": "cid",
        }
    return Source.build("acme", f"{tool}-src", SourceIn.model_validate(body))


def delivery(signed: tools.Signed) -> Delivery:
    return Delivery(body=signed.body, headers=signed.headers, query=dict(parse_qsl(signed.query)))


def tampered(signed: tools.Signed) -> tools.Signed:
    body = signed.body.replace(b"Support", b"Sales").replace(b'"9"', b'"0"')
    assert body != signed.body
    return tools.Signed(body, signed.headers, signed.query)


def one(parsed: Any) -> ResponseIn:
    assert isinstance(parsed, list), parsed
    (item,) = parsed
    assert isinstance(item, ResponseIn)
    return item


TYPEFORM = source(
    "typeform",
    score="nps",
    comment="why",
    respondent={"id": "customer_id"},
    segments={"department": "department"},
)
TALLY = source(
    "tally", score="question_aa11", comment="question_bb22", segments={"team": "department"}
)
DELIGHTED = source(
    "delighted", segments={"department": "Department"}, respondent={"id": "customer_id"}
)
FORMBRICKS = source(
    "formbricks", score="npsQ", comment="whyQ", segments={"department": "department"}
)
JOTFORM = source("jotform", score="howLikely", comment="whyThis", respondent={"id": "customerId"})


def test_typeform() -> None:
    signed = tools.typeform(SECRET, token="resp-7f3e", score=9)
    adapter = ADAPTERS["typeform"]
    adapter.verify(delivery(signed), TYPEFORM)
    item = one(adapter.parse(delivery(signed), TYPEFORM))
    assert (item.response_id, item.survey_id, item.score) == ("resp-7f3e", "aBc123", 9)
    assert item.comment == "Fast support"
    assert item.respondent.id == "C-42"
    assert item.segments == {"department": "Support"}
    assert item.answered_at.isoformat() == "2026-11-30T10:00:02+00:00"
    with pytest.raises(SignatureInvalid):
        adapter.verify(delivery(tampered(signed)), TYPEFORM)


def test_typeform_refuses_a_score_from_a_non_scale_question_and_out_of_range() -> None:
    adapter = ADAPTERS["typeform"]
    wrong_type = tools.typeform(SECRET, token="t1", score=3, field_type="multiple_choice")
    with pytest.raises(PayloadInvalid, match="multiple_choice question"):
        adapter.parse(delivery(wrong_type), TYPEFORM)
    too_high = tools.typeform(SECRET, token="t2", score=11)
    with pytest.raises(PayloadInvalid, match="outside the declared 0-10 scale") as exc:
        adapter.parse(delivery(too_high), TYPEFORM)
    assert exc.value.details[0]["field"] == "nps"


def test_tally() -> None:
    signed = tools.tally(SECRET, response_id="rXy12", score=8)
    adapter = ADAPTERS["tally"]
    adapter.verify(delivery(signed), TALLY)
    item = one(adapter.parse(delivery(signed), TALLY))
    assert (item.response_id, item.score, item.comment) == ("rXy12", 8, "Good team")
    assert item.segments == {"team": "Support"}
    with pytest.raises(SignatureInvalid):
        adapter.verify(delivery(tampered(signed)), TALLY)


def test_delighted_update_is_a_later_version_of_the_same_answer() -> None:
    adapter = ADAPTERS["delighted"]
    first = tools.delighted(SECRET, response_id="77001", score=3, comment=None)
    later = tools.delighted(
        SECRET,
        response_id="77001",
        score=3,
        comment="Slow delivery",
        event_type="survey_response.updated",
        updated_at=1_796_036_400 + 600,
    )
    for signed in (first, later):
        adapter.verify(delivery(signed), DELIGHTED)
    a = one(adapter.parse(delivery(first), DELIGHTED))
    b = one(adapter.parse(delivery(later), DELIGHTED))
    assert a.response_id == b.response_id == "77001"
    assert a.comment is None
    assert b.comment == "Slow delivery"
    assert b.version > a.version
    assert b.respondent.email == "ida@example.com"
    assert b.respondent.id == "C-42"
    assert b.segments == {"department": "Support"}
    with pytest.raises(SignatureInvalid):
        adapter.verify(delivery(tampered(later)), DELIGHTED)


def test_formbricks_stages_and_stale_timestamp() -> None:
    adapter = ADAPTERS["formbricks"]
    created = tools.formbricks(
        tools.WHSEC,
        response_id="clresp456",
        event="responseCreated",
        answers={"npsQ": 2},
        updated_at="2026-11-30T09:59:00.000Z",
    )
    finished = tools.formbricks(
        tools.WHSEC,
        response_id="clresp456",
        event="responseFinished",
        answers={"npsQ": 2, "whyQ": "Nobody called back"},
        updated_at="2026-11-30T09:59:00.000Z",  # same second: the stage still orders them
    )
    for signed in (created, finished):
        adapter.verify(delivery(signed), FORMBRICKS)
    a = one(adapter.parse(delivery(created), FORMBRICKS))
    b = one(adapter.parse(delivery(finished), FORMBRICKS))
    assert b.version > a.version
    assert b.comment == "Nobody called back"
    assert b.segments == {"department": "Support"}
    stale = tools.formbricks(
        tools.WHSEC,
        response_id="clresp456",
        event="responseFinished",
        answers={"npsQ": 2},
        updated_at="2026-11-30T09:59:00.000Z",
        at=time.time() - 6 * 60,
    )
    with pytest.raises(SignatureInvalid, match="too old"):
        adapter.verify(delivery(stale), FORMBRICKS)
    with pytest.raises(SignatureInvalid):
        adapter.verify(delivery(tampered(finished)), FORMBRICKS)
    partial = tools.formbricks(
        tools.WHSEC,
        response_id="clresp457",
        event="responseCreated",
        answers={"otherQ": "x"},
        updated_at="2026-11-30T09:59:00.000Z",
    )
    with pytest.raises(ScoreMissing):
        adapter.parse(delivery(partial), FORMBRICKS)


def test_generic_standard_webhooks() -> None:
    adapter = ADAPTERS["generic"]
    src = source("generic")
    answer = {
        "response_id": "r-1",
        "score": 10,
        "answered_at": "2026-11-30T10:00:00+01:00",
        "kind": "enps",
    }
    signed = tools.generic(tools.WHSEC, answer)
    adapter.verify(delivery(signed), src)
    item = one(adapter.parse(delivery(signed), src))
    assert (item.score, item.kind) == (10, "enps")
    stale = tools.generic(tools.WHSEC, answer, at=time.time() - 301)
    with pytest.raises(SignatureInvalid, match="too old"):
        adapter.verify(delivery(stale), src)
    future = tools.generic(tools.WHSEC, answer, at=time.time() + 301)
    with pytest.raises(SignatureInvalid, match="too new"):
        adapter.verify(delivery(future), src)
    with pytest.raises(SignatureInvalid):
        adapter.verify(delivery(tools.Signed(signed.body + b" ", signed.headers)), src)


def test_jotform_token_and_multipart() -> None:
    adapter = ADAPTERS["jotform"]
    signed = tools.jotform(SECRET, submission_id="5900011122233344455", score="9")
    adapter.verify(delivery(signed), JOTFORM)
    item = one(adapter.parse(delivery(signed), JOTFORM))
    assert (item.response_id, item.score, item.comment) == ("5900011122233344455", 9, "Kind staff")
    assert item.respondent.id == "C-42"
    assert item.survey_id == "230011223344"
    with pytest.raises(SignatureInvalid):
        adapter.verify(delivery(tools.Signed(signed.body, signed.headers, "token=guess")), JOTFORM)
    with pytest.raises(SignatureInvalid):
        adapter.verify(delivery(tools.Signed(signed.body, signed.headers)), JOTFORM)


def test_jotform_comments_read_as_the_respondent_wrote_them() -> None:
    comment = """They said "soon", didn't call & I waited <2 days> at 50/50 odds"""
    signed = tools.jotform(SECRET, submission_id="59001", score="3", comment=comment)
    assert b"&quot;soon&quot;" in signed.body  # as Jotform sends it
    item = one(ADAPTERS["jotform"].parse(delivery(signed), JOTFORM))
    assert item.comment == comment


def test_surveymonkey_and_qualtrics_are_thin() -> None:
    sm = source("surveymonkey", score="q-nps")
    signed = tools.surveymonkey("cid", SECRET, survey_id="300222", response_id="118877")
    ADAPTERS["surveymonkey"].verify(delivery(signed), sm)
    assert ADAPTERS["surveymonkey"].parse(delivery(signed), sm) == FetchRequest("300222", "118877")
    with pytest.raises(SignatureInvalid):
        ADAPTERS["surveymonkey"].verify(delivery(tampered_sm(signed)), sm)
    qx = source("qualtrics", score="QID1")
    signed = tools.qualtrics(SECRET, survey_id="SV_abc123", response_id="R_9xYz")
    ADAPTERS["qualtrics"].verify(delivery(signed), qx)
    assert ADAPTERS["qualtrics"].parse(delivery(signed), qx) == FetchRequest("SV_abc123", "R_9xYz")
    forged = tools.qualtrics("another-key", survey_id="SV_abc123", response_id="R_9xYz")
    with pytest.raises(SignatureInvalid):
        ADAPTERS["qualtrics"].verify(delivery(forged), qx)


def tampered_sm(signed: tools.Signed) -> tools.Signed:
    return tools.Signed(signed.body.replace(b"118877", b"118878"), signed.headers)


def test_ignored_events_are_not_answers() -> None:
    unsubscribe = tools.delighted(
        SECRET, response_id="1", score=1, comment=None, event_type="unsubscribe.created"
    )
    assert isinstance(ADAPTERS["delighted"].parse(delivery(unsubscribe), DELIGHTED), Ignored)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scale_max": 5, "scale_min": 1}, "declared on 1-5"),
        ({"fields": {}}, "fields.score must name"),
        ({"tool": "surveymonkey", "fields": {"score": "q"}}, "api_base_url and api_token"),
        ({"tool": "formbricks", "fields": {"score": "q"}}, "whsec_"),
    ],
)
def test_source_configuration_is_validated(change: dict[str, Any], message: str) -> None:
    body = {"tool": "typeform", "secret": SECRET, "fields": {"score": "nps"}} | change
    with pytest.raises(ValueError, match=message):
        SourceIn.model_validate(body)


def test_field_map_forbids_unknown_parts() -> None:
    with pytest.raises(ValueError, match="Extra inputs"):
        FieldMap.model_validate({"score": "q", "scroe": "typo"})


def test_a_mapped_segment_named_all_is_refused() -> None:
    # Scoring's tenant total is the dimension "all": an answer's own would count twice.
    mapped = source("tally", score="question_aa11", segments={"all": "department"})
    signed = tools.tally(SECRET, response_id="rAll1", score=8)
    with pytest.raises(PayloadInvalid) as exc:
        ADAPTERS["tally"].parse(delivery(signed), mapped)
    assert exc.value.details[0]["field"] == "segments"
    assert "'all'" in exc.value.details[0]["message"]
