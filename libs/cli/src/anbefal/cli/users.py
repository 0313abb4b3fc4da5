"""`anbefal user add`: staff accounts for the web app (the queue and the dashboard)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated

import typer

from anbefal.cli.api import cli_actor
from anbefal.common.auth import Scope, parse_scope
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.notify.staff.service import LOGIN_ROLES, add_user, deactivate_user

app = typer.Typer(help="Staff accounts for the web app.", no_args_is_help=True)


async def add(url: str, scope: Scope = (), time_zone: str | None = None, **fields: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await add_user(session, actor=cli_actor(), scope=scope, time_zone=time_zone, **fields)
    finally:
        await engine.dispose()


async def deactivate(url: str, *, tenant: str, email: str) -> bool:
    engine = create_engine(url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            return await deactivate_user(session, tenant=tenant, email=email, actor=cli_actor())
    finally:
        await engine.dispose()


def _database_url() -> str:
    url = os.environ.get("ANBEFAL_DATABASE_URL")
    if not url:
        raise typer.BadParameter("ANBEFAL_DATABASE_URL is not set (run `make run` once)")
    return url


@app.command("add")
def user_add(
    tenant: Annotated[str, typer.Option(help="Tenant the person works for")],
    email: Annotated[str, typer.Option(help="Login email")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(LOGIN_ROLES)}")] = "agent",
    name: Annotated[str, typer.Option(help="Display name")] = "",
    locale: Annotated[str, typer.Option(help="Page language: en or da")] = "en",
    time_zone: Annotated[
        str, typer.Option(help="IANA time zone for their pages (empty: the tenant's)")
    ] = "",
    scope: Annotated[
        str,
        typer.Option(
            help="A team lead's segment values, e.g. team=Alpha or team=Alpha,country=DK: "
            "everything they read is limited to them (empty: the whole tenant)"
        ),
    ] = "",
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input")
    ] = False,
) -> None:
    """Create a staff user (or update an existing one's name, role, scope and password, which
    ends their sessions)."""
    try:
        parsed = parse_scope(scope)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scope") from exc
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        asyncio.run(
            add(
                _database_url(),
                tenant=tenant,
                email=email,
                name=name or email,
                role=role,
                password=password,
                locale=locale,
                scope=parsed,
                time_zone=time_zone or None,
            )
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    limited = f", scope {scope}" if parsed else ""
    print(f"user {email} ({role}{limited}) saved for tenant {tenant}", file=sys.stderr)


@app.command("deactivate")
def user_deactivate(
    tenant: Annotated[str, typer.Option(help="Tenant the person works for")],
    email: Annotated[str, typer.Option(help="Login email")],
) -> None:
    """Stop a staff user from logging in and end their sessions now (`user add` brings them
    back with a new password)."""
    if not asyncio.run(deactivate(_database_url(), tenant=tenant, email=email)):
        print(f"no user {email} for tenant {tenant}", file=sys.stderr)
        raise typer.Exit(1)
    print(f"user {email} deactivated for tenant {tenant}; their sessions ended", file=sys.stderr)
