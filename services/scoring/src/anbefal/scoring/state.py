"""What scoring's routes share for the life of the process, built once in its wiring."""

from __future__ import annotations

from dataclasses import dataclass

from anbefal.scoring.settings import ScoringSettings


@dataclass(frozen=True)
class ScoringState:
    settings: ScoringSettings
