"""`anbefal status`: what needs attention now, in two tables.

Each service: health and readiness (its API port), consumer lag and dead letters (its internal
metrics port). Each tenant with open tasks: open, overdue, open SLA breaches and unowned tasks,
read from notify's database through its ops API (`GET /v1/ops/queue-health`, with a
deployment-wide ops token the command signs with the deployment's keys). A PROBLEM column
names what needs attention; the command exits 1 while anything does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import typer

from anbefal.cli.api import COMMAND_TOKEN_TTL_S, signing_keys, subject
from anbefal.cli.ops import metric_sum, parse_urls
from anbefal.common.auth import DEPLOYMENT, Role, issue_token
from anbefal.common.services import NOTIFY, SERVICES

app = typer.Typer()


@dataclass
class ServiceStatus:
    name: str
    url: str
    healthy: bool
    ready: bool
    lag: int | None
    dlq: int | None
    problems: list[str] = field(default_factory=list)


@dataclass
class TenantStatus:
    tenant: str
    open: int
    overdue: int
    sla_breaches: int
    not_escalated: int
    unowned: int

    @property
    def problems(self) -> list[str]:
        found = []
        if self.sla_breaches:
            found.append(_count(self.sla_breaches, "open SLA breach", "open SLA breaches"))
        if self.not_escalated:
            found.append(
                _count(self.not_escalated, "overdue task", "overdue tasks")
                + " not escalated (is the SLA clock running?)"
            )
        if self.unowned:
            found.append(_count(self.unowned, "task without an owner", "tasks without an owner"))
        return found


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def http_client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout)


async def fetch_status(
    client: httpx.AsyncClient, name: str, url: str, metrics_url: str, *, max_lag: int = 1000
) -> ServiceStatus:
    status = ServiceStatus(name, url, False, False, None, None)
    try:
        status.healthy = (await client.get(f"{url}/healthz")).status_code == 200
        ready = await client.get(f"{url}/readyz")
        status.ready = ready.status_code == 200
        checks: dict[str, Any] = ready.json().get("checks", {})
        status.problems += [
            k for k, v in checks.items() if not (v["ok"] if isinstance(v, dict) else v)
        ]
        text = (await client.get(f"{metrics_url}/metrics")).text
    except (httpx.HTTPError, ValueError) as exc:
        status.problems.append(f"unreachable: {type(exc).__name__}")
        return status
    if not status.healthy:
        status.problems.insert(0, "down")
    elif not status.ready and not status.problems:
        status.problems.append("not ready")
    status.lag = metric_sum(text, "anbefal_consumer_lag", empty_is_none=True)
    status.dlq = metric_sum(text, "anbefal_dead_letters_pending", empty_is_none=True)
    if status.lag is not None and status.lag > max_lag:
        status.problems.append(f"consumer lag {status.lag} (over {max_lag})")
    if status.dlq:
        letters = _count(status.dlq, "dead letter", "dead letters")
        status.problems.append(f"{letters} (anbefal dlq list --service {name})")
    return status


async def fetch_tenants(client: httpx.AsyncClient, notify_url: str) -> list[TenantStatus]:
    """Every tenant's queue from notify's ops API; raises httpx.HTTPError when it cannot."""
    token = issue_token(
        signing_keys(), tenant=DEPLOYMENT, role=Role.OPS, sub=subject(),
        ttl_s=COMMAND_TOKEN_TTL_S,
    )  # fmt: skip
    response = await client.get(
        f"{notify_url}/v1/ops/queue-health", headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    return [TenantStatus(**row) for row in response.json()["tenants"]]


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


def render_status(services: list[ServiceStatus], tenants: list[TenantStatus]) -> str:
    def cell(value: int | None) -> str:
        return "-" if value is None else str(value)

    service_rows = [
        (
            r.name,
            "ok" if r.healthy else "DOWN",
            "ready" if r.ready else "NOT READY",
            cell(r.lag),
            cell(r.dlq),
            r.url,
            "; ".join(r.problems),
        )  # fmt: skip
        for r in services
    ]
    tenant_rows = [
        (
            t.tenant,
            str(t.open),
            str(t.overdue),
            str(t.sla_breaches),
            str(t.unowned),
            "; ".join(t.problems),
        )  # fmt: skip
        for t in tenants
    ]
    return "\n\n".join(
        [
            table(("SERVICE", "HEALTH", "READY", "LAG", "DLQ", "URL", "PROBLEM"), service_rows),
            table(("TENANT", "OPEN", "OVERDUE", "SLA BREACHES", "UNOWNED", "PROBLEM"), tenant_rows)
            if tenant_rows
            else "no open tasks in any tenant",
        ]
    )


@app.command("status")
def status(
    url: Annotated[
        list[str] | None,
        typer.Option(help="SERVICE=URL, repeatable (default: 127.0.0.1:8001-8004)"),
    ] = None,
    metrics_url: Annotated[
        list[str] | None,
        typer.Option(
            help="SERVICE=URL of the internal metrics port, repeatable "
            "(default: 127.0.0.1:9001-9004)"
        ),
    ] = None,
    max_lag: Annotated[int, typer.Option(help="Consumer lag above this is a problem")] = 1000,
    timeout: Annotated[float, typer.Option(help="Seconds per request")] = 3.0,
) -> None:
    """What needs attention now: each service's health, readiness, consumer lag and dead
    letters, and each tenant's open SLA breaches, overdue and unowned tasks (from notify).

    Exits 1 when any row names a problem.
    """
    urls = parse_urls(url or [], {s.name: s.dev_url for s in SERVICES}, "--url")
    metrics_urls = parse_urls(
        metrics_url or [], {s.name: s.dev_metrics_url for s in SERVICES}, "--metrics-url"
    )

    async def gather() -> tuple[list[ServiceStatus], list[TenantStatus]]:
        async with http_client(timeout) as client:
            services = list(
                await asyncio.gather(
                    *(
                        fetch_status(client, n, u, metrics_urls[n], max_lag=max_lag)
                        for n, u in urls.items()
                    )
                )
            )
            try:
                tenants = await fetch_tenants(client, urls[NOTIFY.name])
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                notify = next(s for s in services if s.name == NOTIFY.name)
                notify.problems.append(f"tasks unreadable: {type(exc).__name__}")
                tenants = []
            return services, tenants

    services, tenants = asyncio.run(gather())
    print(render_status(services, tenants))
    if any(s.problems or not (s.healthy and s.ready) for s in services) or any(
        t.problems for t in tenants
    ):
        raise typer.Exit(1)
