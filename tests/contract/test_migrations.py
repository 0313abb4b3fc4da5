"""Every service's Alembic migrations produce exactly the schema its models declare."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command

from anbefal.common.migrations import SERVICE_PACKAGES, alembic_config

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("package", SERVICE_PACKAGES)
def test_models_and_migrations_agree(stack: Any, package: str) -> None:
    url = stack.new_database()  # migrated to head
    # Raises if autogenerate would produce any operation: a model change without a migration.
    command.check(alembic_config(package, url))
