from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anbefal.closed_loop.owners import (
    AccountsDoc,
    AssigneeRole,
    Directory,
    PeopleDoc,
    resolve,
    resolve_source,
)
from anbefal.common.events import Owners, Respondent, Source, SurveyResponse

NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)
DIRECTORY = Directory(
    accounts=AccountsDoc.model_validate(
        {"accounts": [{"account_id": "acme", "salesperson": "sp@x.dk", "director": "ad@x.dk"},
                      {"account_id": "solo", "salesperson": "solo@x.dk"}]}
    ).accounts_by_id(),
    segments=AccountsDoc.model_validate(
        {"segments": [{"dimension": "store", "value": "Aarhus C", "director": "store@x.dk"},
                      {"dimension": "department", "value": "Support", "director": "dep@x.dk"}]}
    ).segments,
)  # fmt: skip


def answer(
    account: str | None = None, *, hint: Owners | None = None, **segments: str
) -> SurveyResponse:
    return SurveyResponse(
        event_id=uuid.uuid4(), version=1, tenant="acme", kind="nps", score=3,
        answered_at=NOW, received_at=NOW, source=Source(tool="api", response_id="r"),
        respondent=Respondent(key="c", account_id=account), segments=segments,
        owners=hint or Owners(),
    )  # fmt: skip


def director(response: SurveyResponse, default: str | None = "tenant@x.dk") -> str | None:
    return resolve(response, "director", DIRECTORY, default, None)


def test_resolution_order_hint_account_segment_default() -> None:
    hint = Owners(director="hint@x.dk")
    assert director(answer("acme", hint=hint, store="Aarhus C", department="Support")) == (
        "hint@x.dk"
    )
    assert director(answer("acme", store="Aarhus C", department="Support")) == "ad@x.dk"
    # An account without a director falls through to the segments, first listed first.
    assert director(answer("solo", department="Support", store="Aarhus C")) == "store@x.dk"
    assert director(answer(None, department="Support")) == "dep@x.dk"
    assert director(answer("unknown", department="Sales")) == "tenant@x.dk"
    assert director(answer(), default=None) is None


def test_the_owner_says_where_it_came_from() -> None:
    def source(r: SurveyResponse, role: AssigneeRole = "director") -> tuple[str | None, str | None]:
        return resolve_source(r, role, DIRECTORY, "tenant@x.dk", None)

    assert source(answer("acme", hint=Owners(director="hint@x.dk"))) == ("hint@x.dk", "hint")
    assert source(answer("acme")) == ("ad@x.dk", "account")
    assert source(answer(None, department="Support")) == ("dep@x.dk", "segment")
    assert source(answer(None)) == ("tenant@x.dk", "default")
    assert source(answer(None), "salesperson") == (None, None)


def test_salespeople_come_from_the_hint_the_account_or_the_default() -> None:
    def sales(r: SurveyResponse) -> str | None:
        return resolve(r, "salesperson", DIRECTORY, None, "team-sales@x.dk")

    assert sales(answer("acme", hint=Owners(salesperson="hint@x.dk"))) == "hint@x.dk"
    assert sales(answer("solo")) == "solo@x.dk"
    # Segments name directors only.
    assert sales(answer(None, store="Aarhus C")) == "team-sales@x.dk"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"people": [{"email": "a@x.dk", "time_zone": "Mars/Olympus"}]}, "unknown time zone"),
        ({"people": [{"email": "a@x.dk", "work_start": "17:00", "work_end": "09:00"}]},
         "is not before"),
        ({"people": [{"email": "a@x.dk", "work_days": "someday"}]}, "Input should be"),
        ({"people": [{"email": "a@x.dk"}, {"email": "A@x.dk"}]}, "repeated: a@x.dk"),
    ],
)  # fmt: skip
def test_bad_people_are_refused_with_the_reason(doc: dict[str, object], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        PeopleDoc.model_validate(doc)


def test_repeated_accounts_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="repeated: acme"):
        AccountsDoc.model_validate({"accounts": [{"account_id": "acme"}, {"account_id": "acme"}]})


@given(
    hint=st.none() | st.just("hint@x.dk"),
    account=st.sampled_from([None, "acme", "solo", "unknown"]),
    store=st.sampled_from([None, "Aarhus C", "Odense"]),
    default=st.none() | st.just("tenant@x.dk"),
)
def test_the_owner_is_the_first_source_that_names_one(
    hint: str | None, account: str | None, store: str | None, default: str | None
) -> None:
    response = answer(account, hint=Owners(director=hint), **({"store": store} if store else {}))
    chain = [
        hint,
        {"acme": "ad@x.dk"}.get(account or ""),
        "store@x.dk" if store == "Aarhus C" else None,
        default,
    ]
    assert director(response, default) == next((c for c in chain if c), None)
