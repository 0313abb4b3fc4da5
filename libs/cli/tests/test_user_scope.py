"""`anbefal user add --scope`: a team lead (a viewer or director limited to segment values)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from anbefal.cli.main import app
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.notify.models import StaffUser

pytestmark = pytest.mark.integration


def add(url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("ANBEFAL_ENV_FILE", "/nonexistent/anbefal.env")
    monkeypatch.setenv("ANBEFAL_DATABASE_URL", url)
    monkeypatch.setenv("USER", "olga")
    command = ["user", "add", "--tenant", "acme", "--email", "lea@acme.example"]
    result = CliRunner().invoke(
        app, [*command, "--password-stdin", *args], input="correct horse battery\n"
    )
    return result.exit_code, result.output


async def stored_scope(url: str) -> dict[str, str] | None:
    engine = create_engine(url, pool_size=1)
    async with create_sessionmaker(engine)() as session:
        user = await session.scalar(select(StaffUser).where(StaffUser.tenant == "acme"))
    await engine.dispose()
    return None if user is None else user.scope


def test_a_team_lead_is_saved_with_their_scope(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = stack.new_database()
    code, out = add(url, monkeypatch, "--role", "viewer", "--scope", "team=Alpha, country=DK")
    assert code == 0, out
    assert "scope" in out
    assert asyncio.run(stored_scope(url)) == {"country": "DK", "team": "Alpha"}


def test_a_malformed_scope_is_refused_and_nothing_saved(
    stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = stack.new_database()
    code, out = add(url, monkeypatch, "--role", "viewer", "--scope", "team")
    assert code != 0
    assert "--scope" in out
    assert "dimension=value" in out
    assert asyncio.run(stored_scope(url)) is None
