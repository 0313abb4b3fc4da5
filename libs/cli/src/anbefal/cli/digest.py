"""`anbefal digest send`: the leadership digest, now, through notify's API."""

from __future__ import annotations

from typing import Annotated

import typer

from anbefal.cli.api import call
from anbefal.common.services import NOTIFY

app = typer.Typer(help="The leadership digest (notify API).", no_args_is_help=True)


@app.command("send")
def send(
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    to: Annotated[
        list[str] | None,
        typer.Option(help="Send to this address now instead of the tenant's recipients (repeat)"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the digest; send nothing")
    ] = False,
    url: Annotated[str, typer.Option(help="Base URL of the notify service")] = NOTIFY.dev_url,
) -> None:
    """Send this period's digest to the tenant's recipients (once per period), or to --to."""
    body = {"to": to, "dry_run": dry_run}
    # Reading the figures and drawing the charts takes a few seconds.
    answer = call(tenant, url, "POST", "/digest", json=body, timeout=120).json()
    period = f"{answer['covers_from']} to {answer['covers_to']}"
    if dry_run:
        for preview in answer["previews"]:
            print(f"To: {', '.join(preview['recipients'])}")
            print(f"Subject: {preview['subject']}")
            print(f"Charts: {', '.join(preview['images']) or 'none (no answers to draw)'}\n")
            print(preview["text"])
        return
    if answer["queued"]:
        print(f"digest for {period}: {answer['queued']} mail(s) queued")
    else:
        print(f"digest for {period}: already sent to every recipient; nothing queued")
