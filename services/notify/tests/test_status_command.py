"""`anbefal status` about now: each tenant's open SLA breaches, overdue and unowned tasks read
from notify's database through its ops API, beside each service's lag and dead letters; a
PROBLEM column names what needs attention and the exit code is 1 while anything does."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from anbefal.cli import status as status_command
from anbefal.cli.main import app
from anbefal.common.auth import DEPLOYMENT, issue_token
from anbefal.common.db import create_sessionmaker
from anbefal.devstack.testing import TEST_JWT_SECRET, call_task_action
from anbefal.notify.models import Task

pytestmark = pytest.mark.integration
SERVICES = ("ingest", "scoring", "closed-loop", "notify")


def metrics(dlq: int) -> str:
    return (
        "# TYPE anbefal_consumer_lag gauge\n"
        'anbefal_consumer_lag{group="g",topic="t",partition="0"} 0.0\n'
        "# TYPE anbefal_dead_letters_pending gauge\n"
        f'anbefal_dead_letters_pending{{group="g"}} {dlq}.0\n'
    )


def transport(notify_app: Any, dlq: int = 0) -> httpx.AsyncBaseTransport:
    """Health and metrics of every service faked; notify's ops API is the real one."""
    real = httpx.ASGITransport(app=notify_app)

    class Routed(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            path = request.url.path
            if path.startswith("/v1/"):
                return await real.handle_async_request(request)
            if path == "/healthz":
                return httpx.Response(200, json={"status": "ok"})
            if path == "/readyz":
                return httpx.Response(200, json={"status": "ready", "checks": {"kafka": True}})
            if path == "/metrics":
                return httpx.Response(200, text=metrics(dlq))
            return httpx.Response(404)

    return Routed()


@pytest.fixture
def status(api: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Awaitable[tuple[int, str]]]:
    monkeypatch.setenv("ANBEFAL_ENV_FILE", "/nonexistent/anbefal.env")
    monkeypatch.setenv("ANBEFAL_JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.delenv("ANBEFAL_JWT_KEYS", raising=False)

    # The command runs its own event loop (in a thread: the test's loop is running), so the
    # app's database connections are opened per use, in whichever loop asks.
    engine = create_async_engine(api.url, poolclass=NullPool)
    runtime = api.app.state.runtime
    monkeypatch.setattr(
        api.app.state,
        "runtime",
        SimpleNamespace(settings=runtime.settings, sessionmaker=create_sessionmaker(engine)),
    )

    async def run(dlq: int = 0) -> tuple[int, str]:
        monkeypatch.setattr(
            status_command,
            "http_client",
            lambda timeout: httpx.AsyncClient(transport=transport(api.app, dlq)),
        )
        urls = [a for s in SERVICES for a in ("--url", f"{s}=http://{s}")]
        metrics_urls = [a for s in SERVICES for a in ("--metrics-url", f"{s}=http://{s}-m")]
        result = await asyncio.to_thread(CliRunner().invoke, app, ["status", *urls, *metrics_urls])
        crashed = result.exception and not isinstance(result.exception, SystemExit)
        return result.exit_code, result.output + (f"\n{result.exception!r}" if crashed else "")

    return run


def rows(output: str, first: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(first)]


async def test_nothing_needs_attention_exit_0(api: Any, status: Any) -> None:
    await api.new_task(call_task_action("acme", 5))  # due in 3 hours, assigned
    code, out = await status()
    assert code == 0, out
    assert "TENANT" in out
    assert "PROBLEM" in out
    [acme] = rows(out, "acme")
    assert acme.split()[:5] == ["acme", "1", "0", "0", "0"]  # open, overdue, breaches, unowned


async def test_an_open_sla_breach_is_named_and_exits_1(api: Any, status: Any) -> None:
    late = await api.new_task(call_task_action("acme", 0))  # due two hours ago
    unowned = call_task_action("beta", 9)
    unowned = unowned.model_copy(update={"assignee": None, "assignee_role": "team"})
    await api.new_task(unowned)
    async with api.maker() as session, session.begin():
        await session.execute(
            update(Task)
            .where(Task.id == uuid.UUID(late))
            .values(escalated_at=datetime.now(UTC) - timedelta(hours=1))
        )
    code, out = await status()
    assert code == 1, out
    [acme] = rows(out, "acme")
    assert acme.split()[:5] == ["acme", "1", "1", "1", "0"]
    assert "1 open SLA breach" in acme
    [beta] = rows(out, "beta")
    assert "1 task without an owner" in beta


async def test_a_breach_the_sla_clock_has_not_escalated_says_so(api: Any, status: Any) -> None:
    await api.new_task(call_task_action("acme", 0))  # two hours overdue, never escalated
    code, out = await status()
    assert code == 1
    [acme] = rows(out, "acme")
    assert "1 overdue task not escalated (is the SLA clock running?)" in acme


async def test_dead_letters_are_a_problem_of_their_service(api: Any, status: Any) -> None:
    code, out = await status(dlq=2)
    assert code == 1
    [notify] = rows(out, "notify ")
    assert "2 dead letters (anbefal dlq list --service notify)" in notify


async def test_the_ops_api_takes_only_a_deployment_wide_ops_token(api: Any) -> None:
    tenant_ops = issue_token(TEST_JWT_SECRET, tenant="acme", role="ops", sub="o")
    deployment_admin = issue_token(TEST_JWT_SECRET, tenant=DEPLOYMENT, role="admin", sub="o")
    deployment_ops = issue_token(TEST_JWT_SECRET, tenant=DEPLOYMENT, role="ops", sub="o")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://test"
    ) as client:
        for token, expected in ((tenant_ops, 403), (deployment_admin, 403), (deployment_ops, 200)):
            got = await client.get(
                "/v1/ops/queue-health", headers={"Authorization": f"Bearer {token}"}
            )
            assert got.status_code == expected, got.text
        # A deployment-wide token acts for no tenant.
        refused = await client.get(
            "/v1/tenants/acme/tasks", headers={"Authorization": f"Bearer {deployment_ops}"}
        )
        assert refused.status_code == 403
