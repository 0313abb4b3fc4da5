"""Tools the deployment checks need, installed when missing (never skipped)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    """`promtool` from Debian's `prometheus` package; installed with apt-get when we are root."""
    found = shutil.which("promtool")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail(
            "promtool is missing and this user cannot install it: "
            "run `sudo apt-get install -y prometheus` (Debian's package ships promtool)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"],
        check=True,
        env=env,
        capture_output=True,
    )
    found = shutil.which("promtool")
    if not found:
        pytest.fail("apt-get installed `prometheus` but promtool is still not on PATH")
    return found
