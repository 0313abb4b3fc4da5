"""How big a fault run is: ANBEFAL_CHAOS_SCALE=small (default, the suite) or full (`make chaos`)."""

from __future__ import annotations

import os

FULL = os.environ.get("ANBEFAL_CHAOS_SCALE", "small") == "full"


def scale(small: int, full: int) -> int:
    return full if FULL else small
