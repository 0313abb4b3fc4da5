"""`anbefal sso set|show|remove`: a tenant's single sign-on (OpenID Connect), through notify's API.

The client secret is a credential: read from stdin or a hidden prompt (never the command line, so
it stays out of shell history), sent to notify only, never printed."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from anbefal.cli.api import call
from anbefal.common.services import NOTIFY

app = typer.Typer(help="Single sign-on for the staff pages (notify API).", no_args_is_help=True)
URL = typer.Option(help="Base URL of the notify service")
Tenant = Annotated[str, typer.Option(help="Tenant slug")]


def _roles(pairs: list[str]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for pair in pairs:
        group, sep, role = pair.rpartition("=")
        if not sep or not group or not role:
            raise typer.BadParameter(f"{pair!r} is not GROUP=ROLE", param_hint="--role")
        roles[group] = role
    return roles


@app.command("set")
def set_sso(
    tenant: Tenant,
    issuer: Annotated[str, typer.Option(help="The provider's issuer URL (https)")],
    client_id: Annotated[str, typer.Option(help="The client id registered at the provider")],
    domain: Annotated[
        list[str], typer.Option(help="An email domain that signs in here (repeat for more)")
    ],
    role: Annotated[
        list[str] | None,
        typer.Option(help="GROUP=ROLE: members of GROUP get ROLE (repeat for more)"),
    ] = None,
    group_claim: Annotated[str, typer.Option(help="The ID token claim with the groups")] = "groups",
    default_role: Annotated[
        str | None, typer.Option(help="The role of people in no mapped group (default: refused)")
    ] = None,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the client secret from stdin")
    ] = False,
    url: Annotated[str, URL] = NOTIFY.dev_url,
) -> None:
    """Let staff sign in with the tenant's OpenID Connect provider. Prints the redirect URI to
    register at the provider."""
    secret = (
        sys.stdin.readline().strip() if stdin else typer.prompt("client secret", hide_input=True)
    )
    body = {
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": secret,
        "domains": domain,
        "group_claim": group_claim,
        "roles": _roles(role or []),
        "default_role": default_role,
    }
    answer = call(tenant, url, "PUT", "/sso", json=body).json()
    print(f"single sign-on set for {tenant}: {', '.join(answer['domains'])} at {answer['issuer']}")
    print(f"register this redirect URI at the provider: {answer['redirect_uri']}")


@app.command("show")
def show_sso(tenant: Tenant, url: Annotated[str, URL] = NOTIFY.dev_url) -> None:
    """The tenant's provider, domains and role mapping (never the secret)."""
    answer = call(tenant, url, "GET", "/sso").json()
    if not answer["configured"]:
        print(f"single sign-on is not set up for {tenant}")
        return
    print(f"issuer        {answer['issuer']}")
    print(f"client id     {answer['client_id']}")
    print(f"domains       {', '.join(answer['domains'])}")
    print(f"group claim   {answer['group_claim']}")
    for group, role in sorted(answer["roles"].items()):
        print(f"  {group} → {role}")
    print(f"default role  {answer['default_role'] or '(none: refused)'}")
    print(f"redirect URI  {answer['redirect_uri']}")


@app.command("remove")
def remove_sso(tenant: Tenant, url: Annotated[str, URL] = NOTIFY.dev_url) -> None:
    """Turn single sign-on off; passwords keep working."""
    call(tenant, url, "DELETE", "/sso")
    print(f"single sign-on removed for {tenant}")
