"""Webhook secrets: generated (32 random bytes) when none is given, long enough when pasted,
never shown again (no fingerprint), sealed at rest with the deployment keyring, existing rows
sealed by the migration, and moved to a new key after a rotation."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError

from anbefal.common.auth import Principal, Role
from anbefal.common.crypto import Keyring, key_spec
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.migrations import upgrade
from anbefal.devstack.testing import TEST_DATA_KEYS, TEST_JWT_SECRET, asyncpg_dsn
from anbefal.ingest.intake.gate import Intake
from anbefal.ingest.settings import IngestSettings
from anbefal.ingest.sources import repository, secrets, service
from anbefal.ingest.sources.config import Source, SourceIn
from anbefal.ingest.sources.routes import SourceOut

TYPEFORM = {"tool": "typeform", "fields": {"score": "nps"}}
ADMIN = Principal(tenant="acme", role=Role.ADMIN, sub="admin@acme.example")
QUALTRICS_CONFIG: dict[str, Any] = {
    "tool": "qualtrics", "kind": "nps", "fields": {"score": "QID1"},
    "api_base_url": "https://fra1.qualtrics.com", "survey_ids": [], "client_id": None,
}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({**TYPEFORM, "secret": "e2e-signing-secret"}, "at least 32 characters"),
        ({"tool": "generic", "secret": "whsec_" + base64.b64encode(b"x" * 16).decode()}, "24-64"),
        ({"tool": "delighted", "secret": "short-key"}, "Delighted's API key"),
        ({"tool": "formbricks", "secret": "not-whsec", "fields": {"score": "q"}}, "whsec_"),
    ],
)
def test_short_secrets_are_refused_with_the_rule(body: dict[str, Any], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        SourceIn.model_validate(body)


def test_generated_secrets_are_32_random_bytes_and_fit_their_tool() -> None:
    typeform = secrets.generate("typeform")
    assert typeform is not None
    assert len(base64.urlsafe_b64decode(typeform + "=")) == 32
    assert typeform != secrets.generate("typeform")
    standard = secrets.generate("generic")
    assert standard is not None
    assert len(base64.b64decode(standard.removeprefix("whsec_"))) == 32
    assert secrets.problem("generic", standard) is None
    # Tools that issue their own secret: pasted, never generated.
    assert [secrets.generate(t) for t in ("delighted", "surveymonkey", "formbricks")] == [None] * 3


def test_nothing_derived_from_the_secret_is_shown() -> None:
    assert not any("secret" in f and f != "generated_secret" for f in SourceOut.model_fields)
    body = SourceIn.model_validate({**TYPEFORM, "secret": "x" * 40})
    source = Source.build("acme", "tf", body)
    assert "x" * 40 not in repr(source) + str(source)  # a logged source shows no secret


@pytest.mark.integration
async def test_secrets_are_generated_sealed_kept_and_bound_to_their_source(stack: Any) -> None:
    url = stack.new_database()
    engine = create_engine(url, pool_size=2)
    db = create_sessionmaker(engine)
    settings = IngestSettings(jwt_secret=TEST_JWT_SECRET, data_keys=TEST_DATA_KEYS)
    intake = Intake.build(settings, db)
    body = SourceIn.model_validate(TYPEFORM)
    try:
        async with db() as session, session.begin():
            saved = await service.put(session, intake, "acme", "tf", body, by=ADMIN)
        generated = saved.generated_secret
        assert generated is not None
        assert len(generated) >= 43
        async with db() as session, session.begin():  # a change without a secret keeps it
            again = await service.put(session, intake, "acme", "tf", body, by=ADMIN)
            assert again.generated_secret is None
            source = await repository.load(session, intake.keyring, "acme", "tf")
            assert source is not None
            assert source.secret == generated
            with pytest.raises(Exception, match="secret is required for delighted"):
                await service.put(
                    session, intake, "acme", "dl", SourceIn(tool="delighted"), by=ADMIN
                )
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            sealed = await conn.fetchval("SELECT secret_sealed FROM ingest.sources")
            assert generated not in sealed
            assert sealed.startswith("test1.")
            # Copied onto another tenant's source, it does not open there.
            await conn.execute(
                "INSERT INTO ingest.sources (tenant, name, tool, config, secret_sealed, updated_by)"
                " SELECT 'other', name, tool, config, secret_sealed, 'x' FROM ingest.sources"
            )
        finally:
            await conn.close()
        async with db() as session:
            with pytest.raises(Exception, match="does not open"):
                await repository.load(session, intake.keyring, "other", "tf")
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_the_migration_seals_existing_rows_and_a_rotation_reseals(stack: Any) -> None:
    name = f"t_{uuid.uuid4().hex[:12]}"
    stack.postgres.create_database(name)
    url = stack.postgres.url(name)
    await asyncio.to_thread(upgrade, "anbefal.ingest", url, "inge0006")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "INSERT INTO ingest.sources (tenant, name, tool, config, secret, api_token, updated_by)"
            " VALUES ('acme', 'qx', 'qualtrics', $1, 'plain-shared-key', 'plain-token', 'x')",
            json.dumps(QUALTRICS_CONFIG),
        )
        previous = os.environ.get("ANBEFAL_DATA_KEYS")
        os.environ["ANBEFAL_DATA_KEYS"] = TEST_DATA_KEYS
        try:
            await asyncio.to_thread(upgrade, "anbefal.ingest", url, "head")
        finally:
            if previous is None:
                del os.environ["ANBEFAL_DATA_KEYS"]
            else:
                os.environ["ANBEFAL_DATA_KEYS"] = previous
        row = await conn.fetchrow("SELECT * FROM ingest.sources")
        assert "secret" not in row  # the plain columns are gone
        assert "api_token" not in row
        assert "plain" not in row["secret_sealed"] + row["api_token_sealed"]
    finally:
        await conn.close()
    keyring = Keyring.parse(TEST_DATA_KEYS)
    rotated = Keyring.parse(key_spec("new2") + "," + TEST_DATA_KEYS)
    engine = create_engine(url, pool_size=1)
    db = create_sessionmaker(engine)
    try:
        async with db() as session:
            row = await repository.get_source(session, "acme", "qx")
            assert row is not None
            opened = repository.opened(keyring, row)
            assert (opened.secret, opened.api_token) == ("plain-shared-key", "plain-token")
        async with db() as session, session.begin():
            assert await repository.reseal(session, rotated) == 1
            assert await repository.reseal(session, rotated) == 0
        async with db() as session:
            row = await repository.get_source(session, "acme", "qx")
            assert row is not None
            assert row.secret_sealed.startswith("new2.")
            assert repository.opened(rotated, row).secret == "plain-shared-key"
    finally:
        await engine.dispose()
