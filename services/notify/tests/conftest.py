"""notify's API in the test's own process, on a fresh migrated database: `api.client(role)`
calls it with a bearer token, `api.maker` opens sessions on its database."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.auth import Scope, issue_token
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import Action, TaskEvent
from anbefal.devstack.testing import (
    TEST_DATA_KEYS,
    TEST_JWT_SECRET,
    TEST_UNSUBSCRIBE_KEYS,
    call_task_action,
)
from anbefal.notify.main import create_app
from anbefal.notify.models import OUTBOX
from anbefal.notify.settings import NotifySettings
from anbefal.notify.staff.passwords import PasswordChecker
from anbefal.notify.staff.service import Logins
from anbefal.notify.staff.throttle import LoginThrottle
from anbefal.notify.state import NotifyState
from anbefal.notify.tasks import service as tasks

TENANT = "acme"


class Api:
    def __init__(self, app: Any, maker: async_sessionmaker[AsyncSession], url: str) -> None:
        self.app, self.maker, self.url = app, maker, url

    def client(
        self, role: str, sub: str = "ida@acme.example", scope: Scope = ()
    ) -> httpx.AsyncClient:
        token = issue_token(TEST_JWT_SECRET, tenant=TENANT, role=role, sub=sub, scope=scope)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url=f"http://test/v1/tenants/{TENANT}",
            headers={"Authorization": f"Bearer {token}"},
        )

    async def new_task(self, action: Action | None = None) -> str:
        async with self.maker() as session, session.begin():
            applied = await tasks.apply(session, [action or call_task_action(TENANT, 5)])
        return str(applied.created[0].id)

    async def events(self, type_: str) -> list[TaskEvent]:
        async with self.maker() as session:
            rows = await session.execute(select(OUTBOX.c.payload).order_by(OUTBOX.c.created_at))
        found = [TaskEvent.model_validate_json(p) for (p,) in rows if b'"task_id"' in p]
        return [e for e in found if e.type == type_]


@pytest.fixture
async def api(stack: Any) -> AsyncIterator[Api]:
    url = stack.new_database()
    engine = create_engine(url, pool_size=2)
    settings = NotifySettings(
        jwt_secret=TEST_JWT_SECRET,
        unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS,
        data_keys=TEST_DATA_KEYS,
    )
    app = create_app(settings)
    maker = create_sessionmaker(engine)
    app.state.runtime = SimpleNamespace(settings=settings, sessionmaker=maker)
    throttle = LoginThrottle(free_per_address=30, free_per_account=5, max_s=900)
    logins = Logins(throttle, PasswordChecker(concurrency=1, queue_s=10))
    app.state.wiring = SimpleNamespace(state=NotifyState(settings, logins))
    yield Api(app, maker, url)
    await engine.dispose()


@pytest.fixture
def trust_store_loads(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each TLS context this process builds from here on: each loads the trusted certificates
    (tens of milliseconds of CPU on a full CA store)."""
    loads: list[object] = []
    build = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = build(*args, **kwargs)
        loads.append(context)
        return context

    monkeypatch.setattr(ssl, "create_default_context", counted)
    return loads
