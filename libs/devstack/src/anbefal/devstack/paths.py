"""Where the project and its local state live."""

from __future__ import annotations

import os
from pathlib import Path

_MARKER = Path("deploy/local/kafka/pom.xml")


def project_root() -> Path:
    """`$ANBEFAL_ROOT`, else the first folder above the cwd (or this file) holding the project."""
    if explicit := os.environ.get("ANBEFAL_ROOT"):
        return Path(explicit).resolve()
    for start in (Path.cwd().resolve(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / _MARKER).exists():
                return folder
    raise RuntimeError(f"cannot find the project root (a folder with {_MARKER}); set ANBEFAL_ROOT")


def state_dir() -> Path:
    """`.local/` in the project: data, logs and caches that are never committed."""
    path = project_root() / ".local"
    path.mkdir(parents=True, exist_ok=True)
    return path


def local_deploy_dir() -> Path:
    return project_root() / "deploy" / "local"
