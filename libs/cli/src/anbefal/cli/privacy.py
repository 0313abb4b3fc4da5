"""`anbefal privacy erase|export`: one person's data, through the services' admin APIs.

An erasure is requested from ingest, which owns the requests and their receipts; the command
waits for the receipt to complete. An export reads every service's part
(`GET /v1/tenants/{tenant}/privacy/export`) with an admin token and prints them as one JSON
document.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from anbefal.cli.api import call
from anbefal.cli.ops import parse_urls
from anbefal.common.services import INGEST, SERVICES

app = typer.Typer(help="A person's data: erase it everywhere, or export it.", no_args_is_help=True)

Tenant = Annotated[str, typer.Option(help="Tenant slug")]
RespondentOpt = Annotated[str | None, typer.Option("--respondent", help="The respondent's id")]
EmailOpt = Annotated[str | None, typer.Option(help="The respondent's email address")]


def _subject(respondent: str | None, email: str | None) -> dict[str, str]:
    if bool(respondent) == bool(email):
        raise typer.BadParameter("give either --respondent ID or --email ADDRESS")
    return {"respondent_id": respondent} if respondent else {"email": email or ""}


@app.command("erase")
def erase(
    tenant: Tenant,
    respondent: RespondentOpt = None,
    email: EmailOpt = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for every service (0: not)")] = 60,
    url: Annotated[str, typer.Option(help="Base URL of the ingest service")] = INGEST.dev_url,
) -> None:
    """Erase one person's data in every service; prints the receipt (rows changed per
    service). Exits 1 if the receipt is not complete within --wait seconds."""
    receipt = call(tenant, url, "POST", "/erasures", json=_subject(respondent, email), expect=202)
    body: dict[str, Any] = receipt.json()
    print(f"erasure {body['id']} requested", file=sys.stderr)
    deadline = time.monotonic() + wait
    while wait and not body["complete"] and time.monotonic() < deadline:
        time.sleep(0.5)
        body = call(tenant, url, "GET", f"/erasures/{body['id']}").json()
    print(json.dumps(body, indent=2))
    if wait and not body["complete"]:
        waiting = [name for name, report in body["services"].items() if report is None]
        print(f"not complete yet; waiting for {', '.join(waiting)}", file=sys.stderr)
        raise typer.Exit(1)


@app.command("export")
def export(
    tenant: Tenant,
    respondent: RespondentOpt = None,
    email: EmailOpt = None,
    url: Annotated[
        list[str] | None,
        typer.Option(help="SERVICE=URL, repeatable (default: 127.0.0.1:8001-8004)"),
    ] = None,
) -> None:
    """Print everything the services hold about one person as one JSON document."""
    if not (respondent or email):
        raise typer.BadParameter("give --respondent ID, --email ADDRESS or both")
    params = {k: v for k, v in (("respondent_id", respondent), ("email", email)) if v}
    urls = parse_urls(url or [], {s.name: s.dev_url for s in SERVICES}, "--url")
    document = {
        "tenant": tenant,
        "subject": params,
        "exported_at": datetime.now(UTC).isoformat(),
        "services": {
            s.name: call(tenant, urls[s.name], "GET", "/privacy/export", params=params).json()[
                "tables"
            ]
            for s in SERVICES
        },
    }
    print(json.dumps(document, indent=2, ensure_ascii=False))
