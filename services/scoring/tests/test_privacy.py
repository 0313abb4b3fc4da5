"""scoring's part of an erasure and an export, against PostgreSQL: the person's NPS answers lose
what found them, what the answers API shows of them (comment, name, key) and their time of day,
and no figure moves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from anbefal.common.crypto import Keyring, key_spec
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.erasure import Subject
from anbefal.common.events import Respondent, Source, SurveyResponse, response_event_id
from anbefal.scoring import repository
from anbefal.scoring.models import Answer
from anbefal.scoring.privacy import erasure, export

pytestmark = pytest.mark.integration
KEYRING = Keyring.parse(key_spec("k1", b"k" * 32))
AT = datetime(2026, 12, 1, 9, 17, tzinfo=UTC)


def answer(response_id: str, kind: str, score: int, key: str, email: str | None) -> SurveyResponse:
    return SurveyResponse(
        event_id=response_event_id("acme", "api", response_id), version=1, tenant="acme",
        kind=kind, score=score, answered_at=AT, received_at=AT,
        source=Source(tool="api", response_id=response_id),
        respondent=Respondent(key=key, name="Ida Holm", email=email, account_id="acct-9"),
        segments={"department": "Support"}, comment=f"Svar {response_id}: for lang ventetid",
    )  # fmt: skip


async def test_erased_answers_keep_their_figures(stack: Any) -> None:
    engine = create_engine(stack.new_database(), pool_size=1)
    db = create_sessionmaker(engine)
    answers = [
        answer("r-1", "nps", 3, "c-42", None),
        answer("r-2", "nps", 10, "response:r-2", "Ida@example.com"),
        answer("r-3", "enps", 2, "c-42", None),  # an employee: scoring keeps no link to them
        answer("r-4", "nps", 9, "c-7", "bo@example.com"),
    ]
    buckets = text("SELECT * FROM scoring.daily_buckets ORDER BY 1, 2, 3, 4, 5")
    ida = Subject(respondent_id="c-42", email="ida@example.com")
    try:
        async with db() as session, session.begin():
            await repository.apply_answers(
                session, answers, "Europe/Copenhagen", erasure.identities(KEYRING, answers)
            )
            before = (await session.execute(buckets)).all()
            part = await export.collect(session, "acme", ida, KEYRING)
            assert sorted(a["score"] for a in part["answers"]) == [3, 10]

        async with db() as session, session.begin():
            assert await erasure.erase(session, "acme", ida, KEYRING) == 2
        async with db() as session, session.begin():
            assert (await session.execute(buckets)).all() == before
            rows = {a.score: a for a in await session.scalars(select(Answer))}
            for erased in (rows[3], rows[10]):
                assert (erased.respondent_hash, erased.email_hash) == (None, None)
                assert (erased.comment, erased.respondent_name, erased.respondent_key) == (
                    None, None, None,
                )  # fmt: skip
                assert erased.answered_at == datetime(2026, 12, 1, tzinfo=UTC)
                assert erased.segments == {"department": "Support"}
            assert (rows[2].respondent_hash, rows[2].answered_at) == (None, AT)  # eNPS
            # An employee's comment is kept without anything that names them.
            assert rows[2].comment == "Svar r-3: for lang ventetid"
            assert (rows[2].respondent_name, rows[2].respondent_key, rows[2].account_id) == (
                None, None, None,
            )  # fmt: skip
            bo = rows[9]  # Bo's answer keeps what the answers API shows
            assert bo.email_hash is not None
            assert (bo.comment, bo.respondent_name, bo.respondent_key, bo.account_id) == (
                "Svar r-4: for lang ventetid", "Ida Holm", "c-7", "acct-9",
            )  # fmt: skip
            assert await erasure.erase(session, "acme", ida, KEYRING) == 0
            assert (await export.collect(session, "acme", ida, KEYRING)) == {"answers": []}
    finally:
        await engine.dispose()
