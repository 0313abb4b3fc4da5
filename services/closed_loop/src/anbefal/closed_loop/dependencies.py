"""closed_loop's route dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from anbefal.closed_loop.state import ClosedLoopState
from anbefal.common.deps import state_dependency

ClosedLoopStateDep = Annotated[ClosedLoopState, Depends(state_dependency(ClosedLoopState))]
