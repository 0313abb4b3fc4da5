"""`anbefal rules get|set|history|accounts|people`: a tenant's routing rules and the owners they
route to, through the closed-loop API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from anbefal.cli.api import call
from anbefal.common.services import CLOSED_LOOP

app = typer.Typer(help="A tenant's routing rules (closed-loop API).", no_args_is_help=True)
URL = typer.Option(help="Base URL of the closed-loop service")
DEFAULT_URL = CLOSED_LOOP.dev_url


@app.command("get")
def rules_get(
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    url: Annotated[str, URL] = DEFAULT_URL,
) -> None:
    """Print the rules in force as JSON (edit it and give it back to `rules set`)."""
    response = call(tenant, url, "GET", "/rules")
    body = response.json()
    print(
        json.dumps(
            {
                "rules": body["rules"],
                "enps_individual_follow_up": body["enps_individual_follow_up"],
                "holiday_country": body["holiday_country"],
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
    response = call(tenant, url, "PUT", "/rules", json=body)
    print(f"saved version {response.json()['version']}", file=sys.stderr)


def describe_changes(changes: dict[str, Any] | None) -> str:
    """A version's changes against the one before, as the history API gives them, in a line."""
    if changes is None:
        return "(the version before is not shown)"
    parts = [f"{what}: {', '.join(changes[what])}" for what in ("added", "removed", "edited")
             if changes.get(what)]  # fmt: skip
    if changes.get("reordered"):
        parts.append("reordered")
    flags = {k: v for k, v in changes.items() if isinstance(v, dict)}
    parts += [f"{flag}: {v['from']} -> {v['to']}" for flag, v in flags.items()]
    return "; ".join(parts) or "no change"


@app.command("history")
def rules_history(
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    url: Annotated[str, URL] = DEFAULT_URL,
    limit: Annotated[int, typer.Option(help="Versions to show, newest first")] = 20,
) -> None:
    """The saved versions: who saved each, when, and what it changed; the one in force marked."""
    body = call(tenant, url, "GET", "/rules/history", params={"limit": limit}).json()
    if not body["versions"]:
        print("no saved version: the defaults are in force")
    for v in body["versions"]:
        mark = " (in force)" if v["version"] == body["in_force"] else ""
        print(f"version {v['version']}{mark}  {v['updated_at']}  {v['updated_by']}")
        print(f"  {describe_changes(v['changes'])}")


def _put_document(file: Path, tenant: str, url: str, path: str) -> None:
    # The extension says what it is: CSV goes as text/csv, anything else as JSON.
    is_csv = file.suffix.lower() == ".csv"
    content_type = "text/csv" if is_csv else "application/json"
    response = call(
        tenant, url, "PUT", path, content=file.read_bytes(), headers={"Content-Type": content_type}
    )
    counts = {k: v for k, v in response.json().items() if k != "tenant"}
    print("saved " + ", ".join(f"{n} {what}" for what, n in counts.items()), file=sys.stderr)


@app.command("accounts")
def accounts_set(
    file: Annotated[
        Path, typer.Argument(help="JSON or .csv of accounts and segments", exists=True)
    ],
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    url: Annotated[str, URL] = DEFAULT_URL,
) -> None:
    """Replace who owns each account (salesperson, director) and each segment (director).

    CSV columns: account_id,salesperson,director for an account; dimension,value,director for
    a segment (one file may hold both). A bad file is refused naming each bad row and column,
    and nothing of it is loaded."""
    _put_document(file, tenant, url, "/accounts")


@app.command("people")
def people_set(
    file: Annotated[Path, typer.Argument(help="JSON or .csv of people", exists=True)],
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    url: Annotated[str, URL] = DEFAULT_URL,
) -> None:
    """Replace the people's time zones and working hours (for business-hours due times).

    CSV columns: email,name,time_zone,work_start,work_end,work_days,holiday_country."""
    _put_document(file, tenant, url, "/people")
