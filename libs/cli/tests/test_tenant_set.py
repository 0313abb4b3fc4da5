"""`anbefal tenant set`: the settings record it publishes, retention included."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from anbefal.cli import main
from anbefal.common.events import TenantSettings


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[TenantSettings]:
    sent: list[TenantSettings] = []

    async def publish(settings: TenantSettings) -> None:
        sent.append(settings)

    monkeypatch.setattr(main, "_publish_tenant", publish)
    return sent


def test_retention_defaults_and_overrides(published: list[TenantSettings]) -> None:
    runner = CliRunner()
    assert runner.invoke(main.app, ["tenant", "set", "acme"]).exit_code == 0
    result = runner.invoke(
        main.app,
        ["tenant", "set", "acme", "--answers-retention-days", "365", "--emails-retention-days",
         "14", "--enps-rejected-retention-days", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    defaults, changed = published
    days = (
        "answers_retention_days", "tasks_retention_days", "emails_retention_days",
        "rejected_retention_days", "enps_rejected_retention_days",
    )  # fmt: skip
    assert [getattr(defaults, d) for d in days] == [730, 730, 30, 30, 7]
    assert [getattr(changed, d) for d in days] == [365, 730, 14, 30, 3]
    refused = runner.invoke(main.app, ["tenant", "set", "acme", "--tasks-retention-days", "0"])
    assert refused.exit_code != 0
