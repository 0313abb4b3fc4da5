"""Fixtures of the fault-injection suite; the harness itself is `anbefal.devstack.chaos`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from anbefal.devstack.chaos import ChaosSystem


@pytest.fixture(scope="module")
async def shared_system(stack: Any) -> AsyncIterator[ChaosSystem]:
    """The suite's broker and database; for faults that do not touch either."""
    system = ChaosSystem(stack.root, stack.service_env(stack.new_database()))
    try:
        await system.skip_history()  # the checks wait only for these tests' own answers
        await system.start()
        yield system
    finally:
        system.stop()
