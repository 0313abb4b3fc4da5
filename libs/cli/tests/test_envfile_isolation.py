from __future__ import annotations

import os
from pathlib import Path

import pytest

from anbefal.cli import envfile


def test_a_developers_env_file_never_reaches_the_suites_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As after `make run` in the checkout: the CLI's start-up would find this file from the cwd.
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "anbefal.env").write_text("ANBEFAL_TEST_LEAK_PROBE=from-the-dev-file\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANBEFAL_TEST_LEAK_PROBE", raising=False)

    envfile.load_env_file()

    assert "ANBEFAL_TEST_LEAK_PROBE" not in os.environ
