"""Who may call notify's API: the principal each route takes (`common.deps.allow`)."""

from __future__ import annotations

from typing import Annotated

from anbefal.common.auth import Principal, Role
from anbefal.common.deps import allow
from anbefal.notify.tasks.lifecycle import STAFF

READERS = (Role.ADMIN, Role.DIRECTOR, Role.AGENT, Role.VIEWER, Role.OPS)
# Delivery logs name respondents' addresses: not for agents and viewers.
LOG_READERS = (Role.ADMIN, Role.DIRECTOR, Role.OPS)

Reader = Annotated[Principal, allow(*READERS)]
LogReader = Annotated[Principal, allow(*LOG_READERS)]
Staff = Annotated[Principal, allow(*STAFF)]
