"""`make run`'s environment file: fresh secrets once, and new ones added without touching old."""

from __future__ import annotations

from pathlib import Path

from anbefal.cli.envfile import parse, write_dev_env
from anbefal.common.crypto import Keyring


def test_a_new_file_gets_fresh_secrets_readable_only_by_its_owner(tmp_path: Path) -> None:
    path = tmp_path / ".local" / "anbefal.env"
    assert write_dev_env(path)
    values = parse(path.read_text())
    assert len(values["ANBEFAL_JWT_SECRET"]) >= 32
    assert Keyring.parse(values["ANBEFAL_DATA_KEYS"]).current == "dev1"
    assert path.stat().st_mode & 0o777 == 0o600
    assert not write_dev_env(path)


def test_an_older_file_gains_the_data_keys_and_keeps_its_values(tmp_path: Path) -> None:
    path = tmp_path / "anbefal.env"
    path.write_text("ANBEFAL_JWT_SECRET=kept-" + "x" * 40 + "\nANBEFAL_SMTP_PORT=2525\n")
    assert write_dev_env(path)
    values = parse(path.read_text())
    assert values["ANBEFAL_JWT_SECRET"] == "kept-" + "x" * 40
    assert values["ANBEFAL_SMTP_PORT"] == "2525"
    assert "ANBEFAL_DATA_KEYS" in values
    assert Keyring.parse(values["ANBEFAL_UNSUBSCRIBE_KEYS"]).current == "dev1"
