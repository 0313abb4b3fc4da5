"""Ingest's route dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from anbefal.common.deps import state_dependency
from anbefal.ingest.state import IngestState

get_state = state_dependency(IngestState)
IngestStateDep = Annotated[IngestState, Depends(get_state)]
