"""Operating-system packages the local stack needs, installed with apt-get when we are root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

_apt_updated = False


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


def apt_install(*packages: str) -> None:
    """Install Debian packages, or raise saying exactly what to install when we cannot."""
    if not is_root() or shutil.which("apt-get") is None:
        raise RuntimeError(
            f"missing system packages: please install {' '.join(packages)} "
            f"(e.g. `sudo apt-get install -y {' '.join(packages)}`)"
        )
    global _apt_updated
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        say("apt-get update ...")
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        _apt_updated = True
    say(f"apt-get install {' '.join(packages)} ...")
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def ensure_command(command: str, package: str) -> str:
    """The path of `command`, installing Debian's `package` when it is missing."""
    found = shutil.which(command)
    if found is None:
        apt_install(package)
        found = shutil.which(command)
    if found is None:
        raise RuntimeError(f"`{command}` is still missing after installing {package}")
    return found


def ensure_test_tools() -> None:
    """What the suite drives besides Kafka and PostgreSQL: Debian's Chromium for the browser
    tests (never a browser download of Playwright's own), promtool for the alert rules and
    libfaketime for the clock-jump fault (Debian's `faketime`, which brings `libfaketime`)."""
    ensure_command("chromium", "chromium")
    ensure_command("promtool", "prometheus")
    ensure_command("faketime", "faketime")
