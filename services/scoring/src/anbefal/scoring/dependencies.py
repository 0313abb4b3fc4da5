"""Scoring's route dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from anbefal.common.deps import state_dependency
from anbefal.scoring.state import ScoringState

ScoringStateDep = Annotated[ScoringState, Depends(state_dependency(ScoringState))]
