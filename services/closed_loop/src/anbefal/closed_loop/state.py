"""What closed_loop's routes share for the life of the process, built once in its wiring."""

from __future__ import annotations

from dataclasses import dataclass

from anbefal.closed_loop.settings import ClosedLoopSettings


@dataclass(frozen=True)
class ClosedLoopState:
    settings: ClosedLoopSettings
