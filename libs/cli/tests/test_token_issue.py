"""`anbefal token issue`: a named holder, a lifetime under the cap, the current key's id."""

from __future__ import annotations

import jwt
import pytest
from typer.testing import CliRunner

from anbefal.cli.main import app
from anbefal.common.auth import verify_token
from anbefal.common.crypto import Keyring, key_spec

KEYS = f"{key_spec('new')},{key_spec('old')}"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANBEFAL_ENV_FILE", "/nonexistent/anbefal.env")
    monkeypatch.setenv("ANBEFAL_JWT_KEYS", KEYS)
    monkeypatch.delenv("ANBEFAL_JWT_SECRET", raising=False)
    monkeypatch.delenv("ANBEFAL_TOKEN_MAX_TTL", raising=False)


def issue(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["token", "issue", "--tenant", "acme", "--role", "ops", *args])
    return result.exit_code, result.output


def test_a_token_names_its_holder_and_is_signed_with_the_current_key() -> None:
    code, out = issue("--sub", "grafana-exporter", "--ttl", "12h")
    assert code == 0, out
    token = out.strip()
    assert jwt.get_unverified_header(token)["kid"] == "new"
    assert verify_token(Keyring.parse(KEYS), token).sub == "grafana-exporter"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 12 * 3600


def test_a_holder_is_required_and_the_lifetime_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = issue()
    assert code != 0
    assert "--sub" in out
    code, out = issue("--sub", "x", "--ttl", "91d")
    assert code != 0
    assert "ANBEFAL_TOKEN_MAX_TTL" in out
    code, out = issue("--sub", "x", "--ttl", "forever")
    assert code != 0
    assert "lifetime" in out
    monkeypatch.setenv("ANBEFAL_TOKEN_MAX_TTL", "1h")
    code, out = issue("--sub", "x", "--ttl", "2h")
    assert code != 0
    code, out = issue("--sub", "x", "--ttl", "60m")
    assert code == 0, out
