"""`anbefal rules get|set`: a tenant's routing rules, through the closed-loop API."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from anbefal.common.auth import issue_token

app = typer.Typer(help="A tenant's routing rules (closed-loop API).", no_args_is_help=True)
URL = typer.Option(help="Base URL of the closed-loop service")
DEFAULT_URL = "http://127.0.0.1:8003"


def _client(tenant: str, url: str) -> httpx.Client:
    secret = os.environ.get("ANBEFAL_JWT_SECRET")
    if not secret:
        raise typer.BadParameter("ANBEFAL_JWT_SECRET is not set (run `make run` once)")
    token = issue_token(secret, tenant=tenant, role="admin", sub=os.environ.get("USER", "cli"))
    return httpx.Client(
        base_url=f"{url.rstrip('/')}/v1/tenants/{tenant}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def _fail(response: httpx.Response) -> None:
    error: dict[str, Any] = response.json().get("error", {})
    print(f"error {response.status_code}: {error.get('message', response.text)}", file=sys.stderr)
    for detail in error.get("details", []):
        print(f"  {detail.get('field')}: {detail.get('message')}", file=sys.stderr)
    raise typer.Exit(1)


@app.command("get")
def rules_get(
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    url: Annotated[str, URL] = DEFAULT_URL,
) -> None:
    """Print the rules in force as JSON (edit it and give it back to `rules set`)."""
    with _client(tenant, url) as client:
        response = client.get("/rules")
    if response.status_code != 200:
        _fail(response)
    body = response.json()
    print(
        json.dumps(
            {
                "rules": body["rules"],
                "enps_individual_follow_up": body["enps_individual_follow_up"],
            },
            indent=2,
        )
    )
    print(
        f"version {body['version']}, saved by {body['updated_by'] or '(defaults)'}", file=sys.stderr
    )


@app.command("set")
def rules_set(
    file: Annotated[Path, typer.Argument(help="JSON file as printed by `rules get`", exists=True)],
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    url: Annotated[str, URL] = DEFAULT_URL,
) -> None:
    """Replace the tenant's rules; a bad file is refused with the rule and field that are wrong."""
    try:
        body = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{file} is not JSON: {exc}") from exc
    with _client(tenant, url) as client:
        response = client.put("/rules", json=body)
    if response.status_code != 200:
        _fail(response)
    print(f"saved version {response.json()['version']}", file=sys.stderr)
