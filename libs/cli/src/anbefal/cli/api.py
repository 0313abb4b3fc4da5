"""The HTTP side of the CLI: a client for one service's tenant API, with a token made from the
deployment's secret, and one way of reporting an error response."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import httpx
import typer
from pydantic import ValidationError

from anbefal.common.audit import CLI_ROLE
from anbefal.common.auth import issue_token
from anbefal.common.crypto import Keyring
from anbefal.common.events import Actor
from anbefal.common.settings import BaseServiceSettings

# A command's own token lives as long as the command may take.
COMMAND_TOKEN_TTL_S = 600


def subject() -> str:
    """Who is at the command line: the subject of its tokens and its audit entries."""
    return os.environ.get("USER", "cli")


def cli_actor() -> Actor:
    """The actor of a change the command line makes without an API (the audit trail)."""
    return Actor(sub=subject(), role=CLI_ROLE)


def signing_keys() -> Keyring:
    """The deployment's bearer-token keys, from the environment (or `.local/anbefal.env`)."""
    try:
        return BaseServiceSettings().signing_keys()
    except ValidationError as exc:
        message = "; ".join(str(e["msg"]) for e in exc.errors())
        raise typer.BadParameter(f"{message} (run `make run` once)") from None


def tenant_client(tenant: str, url: str, role: str = "admin", timeout: float = 10) -> httpx.Client:
    token = issue_token(
        signing_keys(), tenant=tenant, role=role, sub=subject(), ttl_s=COMMAND_TOKEN_TTL_S
    )
    return httpx.Client(
        base_url=f"{url.rstrip('/')}/v1/tenants/{tenant}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
    )


def call(
    tenant: str,
    url: str,
    method: str,
    path: str,
    *,
    role: str = "admin",
    expect: int | None = 200,
    timeout: float = 10,
    **kwargs: Any,
) -> httpx.Response:
    """One request to the tenant API; exit 1 with the API's error unless the status is `expect`
    (any 2xx when `expect` is None)."""
    with tenant_client(tenant, url, role=role, timeout=timeout) as client:
        response = client.request(method, path, **kwargs)
    ok = response.is_success if expect is None else response.status_code == expect
    if not ok:
        fail(response)
    return response


def fail(response: httpx.Response) -> NoReturn:
    """Print the API's error (and each detail) and exit 1."""
    try:
        error: dict[str, Any] = response.json().get("error", {})
    except ValueError:
        error = {}
    print(f"error {response.status_code}: {error.get('message', response.text)}", file=sys.stderr)
    for detail in error.get("details", []):
        # A CSV file's refusal names the row (its line in the file) as well as the column.
        where = f"row {detail['row']}, " if detail.get("row") is not None else ""
        print(f"  {where}{detail.get('field')}: {detail.get('message')}", file=sys.stderr)
    raise typer.Exit(1)
