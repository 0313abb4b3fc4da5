"""The services' garbage-collector settings (common/gctune.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from anbefal.common.gctune import tune_for_service


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_start_up_heap_is_frozen_and_young_threshold_raised(restore_gc: None) -> None:
    tune_for_service(12_345)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == 12_345


def test_zero_keeps_cpython_thresholds(restore_gc: None) -> None:
    before = gc.get_threshold()
    tune_for_service(0)
    assert gc.get_threshold() == before
