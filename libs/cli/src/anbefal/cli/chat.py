"""`anbefal chat webhook set|show|clear`: a tenant's Slack/Teams webhook, through notify's API.

The URL is a credential: read from stdin or a hidden prompt (never the command line, so it stays
out of shell history), sent to notify only, never printed."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from anbefal.cli.api import call
from anbefal.common.services import NOTIFY

app = typer.Typer(help="Slack/Teams posts of new detractor tasks (notify API).")
webhook_app = typer.Typer(help="The tenant's Slack/Teams incoming webhook.", no_args_is_help=True)
app.add_typer(webhook_app, name="webhook")
URL = typer.Option(help="Base URL of the notify service")
Tenant = Annotated[str, typer.Option(help="Tenant slug")]


@webhook_app.command("set")
def set_webhook(
    tenant: Tenant,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the webhook URL from stdin")] = False,
    url: Annotated[str, URL] = NOTIFY.dev_url,
) -> None:
    """Post new detractor tasks to this Slack or Teams incoming webhook."""
    hook = sys.stdin.readline().strip() if stdin else typer.prompt("webhook URL", hide_input=True)
    answer = call(tenant, url, "PUT", "/chat-webhook", json={"url": hook}).json()
    print(f"chat webhook set for {tenant} (host {answer['host']})")


@webhook_app.command("show")
def show_webhook(tenant: Tenant, url: Annotated[str, URL] = NOTIFY.dev_url) -> None:
    """Whether a webhook is set, and its host (never the URL)."""
    answer = call(tenant, url, "GET", "/chat-webhook").json()
    print(f"set (host {answer['host']})" if answer["configured"] else "not set")


@webhook_app.command("clear")
def clear_webhook(tenant: Tenant, url: Annotated[str, URL] = NOTIFY.dev_url) -> None:
    """Stop posting new detractor tasks to chat."""
    call(tenant, url, "DELETE", "/chat-webhook")
    print(f"chat webhook cleared for {tenant}")
