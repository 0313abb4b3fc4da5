"""The dry run cannot stall the service: it runs in a worker thread, off the event loop, and is
cut at a time limit that its answer names (issue 14, finding 10)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from anbefal.closed_loop import dry_run
from anbefal.common.errors import ServiceError


async def test_a_slow_dry_run_leaves_the_event_loop_free_and_is_cut_at_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow_report(*args: Any) -> str:
        time.sleep(1.0)  # CPU-bound work as far as the event loop can tell
        return "report"

    monkeypatch.setattr(dry_run, "report", slow_report)
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beating = asyncio.create_task(heartbeat())
    try:
        with pytest.raises(ServiceError) as refused:
            await dry_run.report_off_loop(timeout_s=0.3)
    finally:
        beating.cancel()
    # The loop kept serving while the report ran (a blocked loop would tick at most once).
    assert ticks >= 10
    assert refused.value.status == 422
    assert "0.3 s" in refused.value.message
    assert "ANBEFAL_DRY_RUN_TIMEOUT_S" in refused.value.message


async def test_a_dry_run_within_its_limit_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dry_run, "report", lambda *args: ("done", args))
    assert await dry_run.report_off_loop(1, 2, timeout_s=5) == ("done", (1, 2))
