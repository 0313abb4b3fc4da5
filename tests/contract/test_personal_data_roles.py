"""Who may read the APIs that carry respondents' personal data: the table in
docs/architecture.md (section 14), checked route by route against the real apps. The contact
details inside tasks (hidden from viewers and ops) are checked end to end in
tests/e2e/test_staff_sessions.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from anbefal.common.auth import ROLES, issue_token
from anbefal.devstack.testing import TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS
from anbefal.ingest.main import create_app as ingest_app
from anbefal.ingest.settings import IngestSettings
from anbefal.notify.main import create_app as notify_app
from anbefal.notify.settings import NotifySettings
from anbefal.scoring.main import create_app as scoring_app
from anbefal.scoring.settings import ScoringSettings

# (service, path) -> the roles that may read it; every other role gets 403.
READERS: dict[tuple[str, str], set[str]] = {
    ("notify", "/v1/tenants/acme/tasks"): {"admin", "director", "agent", "viewer", "ops"},
    ("notify", "/v1/tenants/acme/emails"): {"admin", "director", "ops"},
    ("notify", "/v1/tenants/acme/chat-messages"): {"admin", "director", "ops"},
    ("ingest", "/v1/tenants/acme/rejected"): {"admin", "ops"},
    ("scoring", "/v1/tenants/acme/answers"): {"admin", "director", "agent", "viewer", "ops"},
    ("scoring", "/v1/tenants/acme/themes"): {"admin", "director", "agent", "viewer", "ops"},
}


def apps() -> dict[str, FastAPI]:
    made: dict[str, Any] = {
        "notify": (
            notify_app,
            NotifySettings(jwt_secret=TEST_JWT_SECRET, unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS),
        ),
        "ingest": (ingest_app, IngestSettings(jwt_secret=TEST_JWT_SECRET)),
        "scoring": (scoring_app, ScoringSettings(jwt_secret=TEST_JWT_SECRET)),
    }
    result = {}
    for name, (create, settings) in made.items():
        app = create(settings)
        # Only the token check runs: a route that gets past it finds no database (500).
        app.state.runtime = SimpleNamespace(settings=settings)
        result[name] = app
    return result


@pytest.mark.parametrize("role", ROLES)
async def test_only_the_documented_roles_read_personal_data(role: str) -> None:
    token = issue_token(TEST_JWT_SECRET, tenant="acme", role=role, sub="reader")
    built = apps()
    for (service, path), readers in READERS.items():
        transport = httpx.ASGITransport(app=built[service], raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        if role in readers:
            assert response.status_code not in (401, 403), (service, path, role)
        else:
            assert response.status_code == 403, (service, path, role, response.text)
