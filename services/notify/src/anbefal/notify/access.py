"""Who may read notify's API, and the tenant in its paths."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from anbefal.common.events import TENANT_PATTERN

READERS = {"admin", "director", "agent", "viewer", "ops"}
# Delivery logs name respondents' addresses: not for agents and viewers.
LOG_READERS = {"admin", "director", "ops"}
TenantPath = Annotated[str, Path(pattern=TENANT_PATTERN)]
