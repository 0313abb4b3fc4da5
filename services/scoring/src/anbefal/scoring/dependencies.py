"""Scoring's route dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import allow, state_dependency
from anbefal.scoring.state import ScoringState

ScoringStateDep = Annotated[ScoringState, Depends(state_dependency(ScoringState))]
# Who reads scoring's figures, answers and themes (docs/architecture.md §14).
READERS = (Role.ADMIN, Role.DIRECTOR, Role.VIEWER, Role.AGENT, Role.OPS)
Reader = Annotated[Principal, allow(*READERS)]
