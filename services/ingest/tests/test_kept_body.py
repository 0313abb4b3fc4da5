"""What a refused generic-API body leaves in `ingest.rejected`: of a batch only the refused
items, and an eNPS item without its respondent's name, email or phone."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from anbefal.ingest.answers.service import kept_body, validate_items

AT = "2026-12-01T09:00:00+01:00"
PERSON = {"id": "e-7", "name": "Ida Holm", "email": "ida@acme.example", "phone": "+45 1234 5678"}


def item(rid: str, kind: str, score: Any) -> dict[str, Any]:
    return {
        "response_id": rid, "kind": kind, "score": score, "answered_at": AT,
        "comment": "my manager", "respondent": dict(PERSON),
    }  # fmt: skip


def test_a_207_keeps_only_the_refused_items_and_no_enps_identity() -> None:
    doc = {
        "responses": [
            item("ok-enps", "enps", 3),  # valid: published, not kept
            item("bad-nps", "nps", 11),
            item("bad-enps", "enps", "x"),
        ]
    }
    items, _ = validate_items(doc)
    kept = kept_body(doc, items)
    assert [r["response_id"] for r in kept["responses"]] == ["bad-nps", "bad-enps"]
    nps, enps = kept["responses"]
    assert nps["respondent"] == PERSON  # customers' contact is needed to replay the answer
    assert enps["respondent"] == {"id": "e-7"}


def test_a_refused_single_enps_answer_or_envelope_keeps_no_identity() -> None:
    single = item("bad", "enps", 11)
    with pytest.raises(ValidationError):
        validate_items(single)
    assert kept_body(single, [])["respondent"] == {"id": "e-7"}
    envelope = {"responses": [item("a", "enps", 3)], "extra": 1}
    with pytest.raises(ValidationError):
        validate_items(envelope)
    assert kept_body(envelope, [])["responses"][0]["respondent"] == {"id": "e-7"}
