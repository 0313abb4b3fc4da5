"""What every browser test shares: Debian's Chromium, driven by Playwright, one per test module
(each test opens its own context, so no cookie or storage crosses tests)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

# No sandbox (root in CI), no GPU, and no traffic of the browser's own (updates, sync, QUIC).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, (
        "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
    )
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()
