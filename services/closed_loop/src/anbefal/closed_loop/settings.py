from __future__ import annotations

from anbefal.common.settings import BaseServiceSettings


class ClosedLoopSettings(BaseServiceSettings):
    # The relay also polls, so an action committed by another copy is published promptly.
    relay_poll_s: float = 1.0
    relay_batch: int = 200
