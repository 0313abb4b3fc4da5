"""Notify's route dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from anbefal.common.deps import state_dependency
from anbefal.notify.state import NotifyState

NotifyStateDep = Annotated[NotifyState, Depends(state_dependency(NotifyState))]
