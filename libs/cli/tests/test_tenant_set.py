"""`anbefal tenant set`: a partial update through notify's settings API, of the options given."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from anbefal.cli import api, main


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(tenant: str, url: str, method: str, path: str, **kwargs: Any) -> None:
        calls.append((method, f"{url}/v1/tenants/{tenant}{path}", kwargs["json"]))

    monkeypatch.setattr(api, "call", call)
    return calls


def test_only_the_options_given_are_sent(sent: list[tuple[str, str, dict[str, Any]]]) -> None:
    runner = CliRunner()
    result = runner.invoke(main.app, ["tenant", "set", "acme", "--url", "http://notify"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        main.app,
        ["tenant", "set", "acme", "--url", "http://notify", "--answers-retention-days", "365",
         "--locale", "da", "--name", "Acme A/S"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sent == [
        ("PATCH", "http://notify/v1/tenants/acme/settings", {}),
        (
            "PATCH",
            "http://notify/v1/tenants/acme/settings",
            {"display_name": "Acme A/S", "locale": "da", "answers_retention_days": 365},
        ),
    ]
