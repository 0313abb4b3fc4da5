"""The local environment file `make run` writes once (`.local/anbefal.env`).

It holds the development secrets (JWT, data keys) and the local addresses, so every process
`make run` starts, and every `anbefal` command a developer types, agree on them. Values already
in the environment win over the file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from anbefal.common.crypto import key_spec

DEV_DEFAULTS = {
    "ANBEFAL_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
    "ANBEFAL_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:15432/anbefal",
    "ANBEFAL_SMTP_HOST": "127.0.0.1",
    "ANBEFAL_SMTP_PORT": "1025",
    "ANBEFAL_LOG_JSON": "false",
}


def find_env_file(start: Path | None = None) -> Path | None:
    if explicit := os.environ.get("ANBEFAL_ENV_FILE"):
        return Path(explicit)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / ".local" / "anbefal.env"
        if candidate.exists():
            return candidate
    return None


def parse(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def load_env_file() -> Path | None:
    path = find_env_file()
    if path is not None and path.exists():
        for name, value in parse(path.read_text()).items():
            os.environ.setdefault(name, value)
    return path


def _generated() -> dict[str, str]:
    """Secrets made fresh for each development machine, never shared or committed."""
    return {
        "ANBEFAL_JWT_SECRET": secrets.token_urlsafe(48),
        "ANBEFAL_DATA_KEYS": key_spec("dev1"),
        "ANBEFAL_UNSUBSCRIBE_KEYS": key_spec("dev1"),
    }


def write_dev_env(path: Path) -> bool:
    """Create the file with fresh secrets, or add a secret a newer version needs.

    Returns True if the file was written or extended. Existing values are never changed: the
    data sealed with a development key must stay readable.
    """
    if path.exists():
        missing = {k: v for k, v in _generated().items() if k not in parse(path.read_text())}
        if not missing:
            return False
        with path.open("a") as file:
            file.write("".join(f"{k}={v}\n" for k, v in missing.items()))
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {**_generated(), **DEV_DEFAULTS}
    body = "# Written once by `make run`; delete it to get new development secrets.\n"
    body += "".join(f"{k}={v}\n" for k, v in values.items())
    path.write_text(body)
    path.chmod(0o600)
    return True
