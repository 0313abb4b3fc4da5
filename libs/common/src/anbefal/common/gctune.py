"""The cyclic garbage collector's settings for a service in its steady state.

Measured on ingest under load (py-spy, and `gc.callbacks` timing every collection): with
CPython's default thresholds (700, 10, 10) the collector took 52 % of the process's time on
500-answer batches and 22 % on single webhooks. Every request allocates thousands of short-lived
objects (pydantic models, dicts, futures), so a young collection ran every few hundred
microseconds, and each older one walked the whole long-lived heap: imported modules, pydantic's
schemas, and the dedupe's recent keys. Freezing what exists once the service has started moves
that heap out of the collector's sight, and a larger first threshold makes young collections
rare; reference counting still frees almost everything at once, so memory stays flat (RSS in
bench/ingest.py's runs).
"""

from __future__ import annotations

import gc

# Older generations are collected after this many collections of the younger one.
_OLDER_THRESHOLD = 20


def tune_for_service(young_threshold: int) -> None:
    """Freeze the start-up heap and set the young generation's threshold (0: CPython's)."""
    gc.collect()
    gc.freeze()
    if young_threshold > 0:
        gc.set_threshold(young_threshold, _OLDER_THRESHOLD, _OLDER_THRESHOLD)
