"""`anbefal`: the command-line tool for developers and ops.

Every command reads its settings from the environment (`ANBEFAL_*`), falling back to the
development file `.local/anbefal.env` that `make run` writes.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Annotated

import httpx
import typer

from anbefal.cli import (
    api,
    audit,
    chat,
    demo,
    digest,
    envfile,
    ingest,
    ops,
    privacy,
    rules,
    sources,
    sso,
    status,
    tokens,
    users,
)
from anbefal.cli.api import signing_keys
from anbefal.cli.waiting import ensure_database, progress
from anbefal.common import topics
from anbefal.common.auth import ROLES, issue_token
from anbefal.common.crypto import key_spec
from anbefal.common.kafka.connection import KafkaClientSettings
from anbefal.common.migrations import upgrade
from anbefal.common.services import (
    CLOSED_LOOP,
    INGEST,
    NOTIFY,
    SCORING,
    SERVICES,
    Service,
    service_named,
)
from anbefal.devstack.kafka import create_topics, wait_for_kafka

app = typer.Typer(
    help="Anbefal: closed-loop NPS and eNPS. Commands for developers and ops.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="Bearer tokens for the APIs.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants and their settings.", no_args_is_help=True)
dev_app = typer.Typer(help="The local development stack (`make run`).", no_args_is_help=True)
keys_app = typer.Typer(help="Deployment keys (ANBEFAL_DATA_KEYS, _JWT_KEYS, _UNSUBSCRIBE_KEYS).")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(dev_app, name="dev")
app.add_typer(keys_app, name="keys")
app.add_typer(status.app)  # `anbefal status`
app.add_typer(ops.app)  # `anbefal dlq ...`
app.add_typer(users.app, name="user")
app.add_typer(rules.app, name="rules")
app.add_typer(chat.app, name="chat")
app.add_typer(sources.source_app, name="source")
app.add_typer(sources.rejected_app, name="rejected")
app.add_typer(ingest.app)  # `anbefal import FILE.csv`
app.add_typer(audit.app)  # `anbefal audit --tenant T`
app.add_typer(privacy.app, name="privacy")
app.add_typer(digest.app, name="digest")
app.add_typer(sso.app, name="sso")
app.add_typer(demo.app, name="demo")

SERVICE_NAMES = ", ".join(s.name for s in SERVICES)
DEMO_PASSWORD = "demo-password"


@app.callback()
def _load_environment() -> None:
    envfile.load_env_file()


def _service(name: str, param_hint: str = "--service") -> Service:
    try:
        return service_named(name)
    except KeyError:
        raise typer.BadParameter(f"one of {SERVICE_NAMES}", param_hint=param_hint) from None


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise typer.BadParameter(
            f"{name} is not set (set it, or run `make run` once to write .local/anbefal.env)"
        )
    return value


@token_app.command("issue")
def token_issue(
    tenant: Annotated[str, typer.Option(help="Tenant the token acts for")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}")],
    sub: Annotated[
        str, typer.Option(help="Who or what holds the token (a person, a system), for the logs")
    ],
    ttl: Annotated[
        str, typer.Option(help="Lifetime: a number and s, m, h or d (e.g. 12h, 30d)")
    ] = "30d",
) -> None:
    """Print a bearer token for the APIs, signed with the current key of ANBEFAL_JWT_KEYS (or
    ANBEFAL_JWT_SECRET). Its lifetime may not pass ANBEFAL_TOKEN_MAX_TTL (default 90d)."""
    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}", param_hint="--role")
    if not sub.strip():
        raise typer.BadParameter("name who holds the token", param_hint="--sub")
    try:
        ttl_s = tokens.seconds(ttl)
        cap_s = tokens.seconds(os.environ.get("ANBEFAL_TOKEN_MAX_TTL", tokens.DEFAULT_MAX_TTL))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--ttl") from None
    if ttl_s > cap_s:
        raise typer.BadParameter(
            f"{ttl} is longer than the cap of {cap_s} s (ANBEFAL_TOKEN_MAX_TTL)", param_hint="--ttl"
        )
    print(issue_token(signing_keys(), tenant=tenant, role=role, sub=sub.strip(), ttl_s=ttl_s))


@keys_app.command("new")
def keys_new(
    kid: Annotated[str, typer.Option(help="Key id (letters and digits), e.g. the date")] = "",
) -> None:
    """Print a fresh `kid:key` entry for ANBEFAL_DATA_KEYS, ANBEFAL_JWT_KEYS or
    ANBEFAL_UNSUBSCRIBE_KEYS.

    To rotate, put the new entry first and keep the old ones after it: new data is sealed with
    the first key, and every listed key still opens what it sealed.
    """
    kid = kid or time.strftime("k%Y%m%d")
    if not kid.isalnum():
        raise typer.BadParameter("letters and digits only", param_hint="--kid")
    print(key_spec(kid))


@db_app.command("upgrade")
def db_upgrade(
    service: Annotated[str | None, typer.Option(help="Only this service")] = None,
) -> None:
    """Migrate every service's schema (or one) to the newest version."""
    url = _env("ANBEFAL_DATABASE_URL")
    asyncio.run(ensure_database(url, timeout=60))
    for package in [_service(service).package] if service else [s.package for s in SERVICES]:
        progress(f"migrating {package} ...")
        upgrade(package, url)
    progress("database is up to date")


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"One of: {SERVICE_NAMES}")],
    port: Annotated[int | None, typer.Option(help="Port (default: 8001-8004 by service)")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    migrate: Annotated[bool, typer.Option(help="Run this service's migrations first")] = True,
    create_topics_: Annotated[
        bool,
        typer.Option(
            "--create-topics/--no-create-topics",
            envvar="ANBEFAL_CREATE_TOPICS",
            help="Create missing topics (off where the broker's ACLs or an operator own them)",
        ),
    ] = True,
    wait_s: Annotated[float, typer.Option(help="How long to wait for Kafka and PostgreSQL")] = 180,
    workers: Annotated[
        int | None,
        typer.Option(help="Worker processes (default: ANBEFAL_<SERVICE>_WORKERS, else 1)"),
    ] = None,
) -> None:
    """Run one service: wait for its dependencies, migrate, create topics, then serve HTTP."""
    import uvicorn

    package = _service(service, param_hint="SERVICE").package
    url = _env("ANBEFAL_DATABASE_URL")
    _env("ANBEFAL_KAFKA_BOOTSTRAP")
    bootstrap = KafkaClientSettings().kafka()  # SASL/TLS too, as the service will connect
    progress(f"{service}: waiting for PostgreSQL and Kafka ...")
    asyncio.run(ensure_database(url, wait_s))
    asyncio.run(wait_for_kafka(bootstrap, wait_s))
    if create_topics_:
        asyncio.run(create_topics(bootstrap, topics.ALL_TOPICS))
    if migrate:
        upgrade(package, url)
    if workers is None:
        module = _service(service).module
        workers = int(os.environ.get(f"ANBEFAL_{module.upper()}_WORKERS", "1"))
    uvicorn.run(
        f"{package}.main:create_app",
        factory=True,
        workers=workers,
        host=host,
        port=port or _service(service).dev_port,
        access_log=False,
        timeout_graceful_shutdown=20,
    )


@tenant_app.command("label")
def tenant_label(tenant: Annotated[str, typer.Argument(help="Tenant slug, e.g. `demo`")]) -> None:
    """The tenant's label on /metrics (a hash: the metrics name no customer)."""
    from anbefal.common.metrics import tenant_label as label

    print(label(tenant))


@tenant_app.command("set")
def tenant_set(
    tenant: Annotated[str, typer.Argument(help="Tenant slug, e.g. `demo`")],
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    director: Annotated[str | None, typer.Option(help="Default director email")] = None,
    salesperson: Annotated[str | None, typer.Option(help="Default salesperson email")] = None,
    time_zone: Annotated[str | None, typer.Option(help="IANA time zone")] = None,
    locale: Annotated[str | None, typer.Option(help="da or en")] = None,
    sender_name: Annotated[str | None, typer.Option(help="Email sender name")] = None,
    sender_email: Annotated[str | None, typer.Option(help="Email sender address")] = None,
    follow_up_days: Annotated[int | None, typer.Option(help="Days to follow up a passive")] = None,
    anonymity_k: Annotated[
        int | None, typer.Option(help="Smallest eNPS group shown (never below 3)")
    ] = None,
    escalation_next: Annotated[
        str | None, typer.Option(help="Second escalation level's email address")
    ] = None,
    escalation_next_after_hours: Annotated[
        float | None, typer.Option(help="Hours after a breach before the second level is told")
    ] = None,
    answers_retention_days: Annotated[
        int | None, typer.Option(help="Days answers and actions keep personal data")
    ] = None,
    tasks_retention_days: Annotated[
        int | None, typer.Option(help="Days tasks, notes and chat posts keep personal data")
    ] = None,
    emails_retention_days: Annotated[
        int | None, typer.Option(help="Days sent mail keeps its address and text")
    ] = None,
    rejected_retention_days: Annotated[
        int | None, typer.Option(help="Days refused bodies are kept")
    ] = None,
    enps_rejected_retention_days: Annotated[
        int | None, typer.Option(help="Days refused bodies holding eNPS answers are kept")
    ] = None,
    digest_recipient: Annotated[
        list[str] | None,
        typer.Option(help="Who gets the leadership digest (repeat; replaces the list)"),
    ] = None,
    no_digest: Annotated[
        bool, typer.Option("--no-digest", help="Send the digest to nobody")
    ] = False,
    digest_every_days: Annotated[
        int | None, typer.Option(help="Days between digests (default 14)")
    ] = None,
    digest_hour: Annotated[
        int | None, typer.Option(help="Hour of the weekday morning it goes out (default 8)")
    ] = None,
    url: Annotated[str, typer.Option(help="Base URL of the notify service")] = NOTIFY.dev_url,
) -> None:
    """Create a tenant, or change some of its settings: only the options given change (notify's
    `PATCH /v1/tenants/{tenant}/settings`, which publishes them on `anbefal.tenants.v1`)."""
    given = {
        "display_name": name, "default_director": director,
        "default_salesperson": salesperson, "time_zone": time_zone, "locale": locale,
        "sender_name": sender_name, "sender_email": sender_email,
        "follow_up_days": follow_up_days, "anonymity_k": anonymity_k,
        "escalation_next": escalation_next,
        "escalation_next_after_hours": escalation_next_after_hours,
        "answers_retention_days": answers_retention_days,
        "tasks_retention_days": tasks_retention_days,
        "emails_retention_days": emails_retention_days,
        "rejected_retention_days": rejected_retention_days,
        "enps_rejected_retention_days": enps_rejected_retention_days,
        "digest_recipients": [] if no_digest else digest_recipient,
        "digest_every_days": digest_every_days, "digest_hour": digest_hour,
    }  # fmt: skip
    fields = {k: v for k, v in given.items() if v is not None}
    api.call(tenant, url, "PATCH", "/settings", json=fields)
    progress(f"tenant {tenant} saved")


def _wait_ready(urls: dict[str, str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(urls)
    while pending:
        for name, url in list(pending.items()):
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    progress(f"  {name} is ready")
                    del pending[name]
            except httpx.HTTPError:
                pass
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
        time.sleep(1)


@dev_app.command("env")
def dev_env() -> None:
    """Write `.local/anbefal.env` (a fresh development secret) if it does not exist."""
    from anbefal.devstack.paths import state_dir

    path = state_dir() / "anbefal.env"
    progress(f"{'wrote' if envfile.write_dev_env(path) else 'kept'} {path}")


@dev_app.command("welcome")
def dev_welcome(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the services")] = 300,
    stay: Annotated[bool, typer.Option(help="Keep running after printing (for honcho)")] = True,
) -> None:
    """Wait for the local services, create the `demo` tenant, and print how to use them."""
    progress("waiting for the services to be ready ...")
    _wait_ready({s.name: s.dev_url for s in SERVICES}, timeout)
    tenant_set(
        "demo",
        name="Demo A/S",
        director="director@demo.example",
        salesperson="sales@demo.example",
        time_zone="Europe/Copenhagen",
        locale="en",
        sender_name="Dorthe Director, Demo A/S",
        sender_email="director@demo.example",
        follow_up_days=5,
    )
    # Staff accounts for the queue and the dashboard; a fixed password is fine for a local
    # demo only.
    for email, name, role in (
        ("agent@demo.example", "Ada Agent", "agent"),
        ("director@demo.example", "Dorthe Director", "director"),
    ):
        asyncio.run(
            users.add(
                _env("ANBEFAL_DATABASE_URL"), tenant="demo", email=email, name=name, role=role,
                password=DEMO_PASSWORD, locale="en",
            )
        )  # fmt: skip
    banner = welcome_banner(os.environ.get("ANBEFAL_MAIL_HTTP_PORT", "8025"))
    print(banner, flush=True)
    if stay:
        while True:
            time.sleep(3600)


def welcome_banner(mail_port: str) -> str:
    """What `make run` prints once everything is up."""
    return f"""
Anbefal is running.
  ingest       {INGEST.dev_url}/docs
  scoring      {SCORING.dev_url}/docs
  closed loop  {CLOSED_LOOP.dev_url}/docs
  notify       {NOTIFY.dev_url}/docs
  staff page   {NOTIFY.dev_url}/  (organisation demo, agent@demo.example, {DEMO_PASSWORD})
  dashboard    {NOTIFY.dev_url}/dashboard  (demo, director@demo.example, {DEMO_PASSWORD})
  mail sink    http://127.0.0.1:{mail_port}/

Six months of a Danish company's answers for the dashboard (history: no tasks, no mail):
  uv run anbefal demo load --tenant demo

Post an answer (tenant `demo`):
  TOKEN=$(uv run anbefal token issue --tenant demo --role admin --sub me --ttl 1d)
  curl -s -X POST {INGEST.dev_url}/v1/tenants/demo/responses \\
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
    -d '{{"response_id": "r-1001", "score": 4, "comment": "Slow support",
         "answered_at": "{datetime.now(UTC).isoformat(timespec="seconds")}",
         "respondent": {{"id": "c-42", "name": "Ida Holm", "email": "ida@example.com"}}}}'
  curl -s {NOTIFY.dev_url}/v1/tenants/demo/tasks -H "Authorization: Bearer $TOKEN"

Ctrl-C stops everything; data is kept in .local/ for the next `make run`.
"""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
