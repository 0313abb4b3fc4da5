"""`anbefal audit`: a tenant's audit trail (who changed rules, owners, sources, users and
settings, who exported or erased whose data), through notify's API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from anbefal.cli.api import call
from anbefal.common.audit import Kind
from anbefal.common.services import NOTIFY

app = typer.Typer()
PAGE = 200


@app.command("audit")
def audit(
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    kind: Annotated[Kind | None, typer.Option(help="Only entries of this kind")] = None,
    start: Annotated[
        datetime | None,
        typer.Option("--from", help="From this time (local unless a zone is given)"),
    ] = None,
    end: Annotated[datetime | None, typer.Option("--to", help="Before this time")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many entries")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
    url: Annotated[str, typer.Option(help="Base URL of the notify service")] = NOTIFY.dev_url,
) -> None:
    """Print the tenant's audit trail, newest first: when, who (role), what, and what changed."""
    params: dict[str, Any] = {"kind": kind.value} if kind else {}
    for name, value in (("from", start), ("to", end)):
        if value is not None:
            params[name] = (value if value.tzinfo else value.astimezone()).isoformat()
    shown = 0
    cursor: str | None = None
    while shown < limit:
        if cursor is not None:
            params["cursor"] = cursor
        page = call(
            tenant, url, "GET", "/audit", params={**params, "limit": min(PAGE, limit - shown)}
        ).json()
        for entry in page["entries"]:
            print(json.dumps(entry, ensure_ascii=False) if as_json else _line(entry))
        shown += len(page["entries"])
        cursor = page["next_cursor"]
        if cursor is None:
            break


def _line(entry: dict[str, Any]) -> str:
    actor = entry["actor"]
    detail = json.dumps(entry["detail"], ensure_ascii=False, separators=(",", ":"))
    return (
        f"{entry['at']}  {actor['sub']} ({actor['role']})  {entry['action']}  "
        f"{entry['target']}  {detail}"
    )
