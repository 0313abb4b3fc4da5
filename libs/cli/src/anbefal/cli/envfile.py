"""The local environment file `make run` writes once (`.local/anbefal.env`).

It holds the development JWT secret and the local addresses, so every process `make run`
starts, and every `anbefal` command a developer types, agree on them. Values already in the
environment win over the file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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


def write_dev_env(path: Path) -> bool:
    """Create the file with a fresh secret if it does not exist. Returns True if written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {"ANBEFAL_JWT_SECRET": secrets.token_urlsafe(48), **DEV_DEFAULTS}
    body = "# Written once by `make run`; delete it to get a new development secret.\n"
    body += "".join(f"{k}={v}\n" for k, v in values.items())
    path.write_text(body)
    path.chmod(0o600)
    return True
