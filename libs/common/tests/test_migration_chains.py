"""Each service's migrations form one chain: two helpers landing a revision on the same parent
would give alembic two heads, and `upgrade head` would then refuse to start the service."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from anbefal.common.migrations import SERVICE_PACKAGES, alembic_config


@pytest.mark.parametrize("package", SERVICE_PACKAGES)
def test_one_head_and_one_revision_per_id(package: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(package, "postgresql://unused"))
    assert len(script.get_heads()) == 1, f"{package} has several heads: {script.get_heads()}"
    revisions = list(script.walk_revisions())
    assert len({r.revision for r in revisions}) == len(revisions)
