"""`anbefal source ...` and `anbefal rejected ...`: a tenant's survey-tool sources and the bodies
ingest refused, through ingest's API (the same calls as the web app's admin pages)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from anbefal.cli.api import call
from anbefal.cli.ingest import DEFAULT_URL, TENANT, URL

source_app = typer.Typer(help="Survey-tool sources (webhooks) of a tenant.", no_args_is_help=True)
rejected_app = typer.Typer(help="Bodies ingest refused, kept for ops.", no_args_is_help=True)


def _pairs(values: list[str], option: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        name, sep, field = value.partition("=")
        if not sep or not name or not field:
            raise typer.BadParameter(f"expected NAME=FIELD, got {value!r}", param_hint=option)
        result[name] = field
    return result


@source_app.command("add")
def source_add(
    name: Annotated[str, typer.Argument(help="Source name; the hook is /v1/webhooks/TENANT/NAME")],
    tenant: Annotated[str, TENANT],
    tool: Annotated[
        str,
        typer.Option(
            help="generic, typeform, tally, delighted, formbricks, jotform, surveymonkey, qualtrics"
        ),
    ],
    score_field: Annotated[
        str | None, typer.Option(help="The tool's id/ref/key of the 0-10 question")
    ] = None,
    comment_field: Annotated[str | None, typer.Option(help="The open 'why?' question")] = None,
    kind: Annotated[str, typer.Option(help="nps or enps")] = "nps",
    scale: Annotated[str, typer.Option(help="The score question's declared scale")] = "0-10",
    respondent: Annotated[list[str], typer.Option(help="id=FIELD, email=FIELD, ... (repeat)")] = [],  # noqa: B006 - typer needs a literal default
    segment: Annotated[
        list[str], typer.Option(help="department=FIELD, store=FIELD, ... (repeat)")
    ] = [],  # noqa: B006
    owner: Annotated[
        list[str], typer.Option(help="director=FIELD or salesperson=FIELD (repeat)")
    ] = [],  # noqa: B006
    survey_id: Annotated[list[str], typer.Option(help="Only these forms/surveys")] = [],  # noqa: B006
    api_base_url: Annotated[
        str | None,
        typer.Option(
            help="SurveyMonkey/Qualtrics API as documented: https://api.surveymonkey.com/v3 "
            "(the default), https://<datacenter>.qualtrics.com/API/v3"
        ),
    ] = None,
    client_id: Annotated[str | None, typer.Option(help="SurveyMonkey app client id")] = None,
    secret_stdin: Annotated[
        bool, typer.Option(help="Read the signing secret (then an API token line) from stdin")
    ] = False,
    url: Annotated[str, URL] = DEFAULT_URL,
) -> None:
    """Create or replace a source. The signing secret is asked for (or read from stdin), never
    taken from the command line, so it stays out of shell history; it is never printed. Leave it
    empty to have one generated (32 random bytes), printed once to paste into the tool; a tool
    that issues its own (Delighted's API key, a SurveyMonkey app's client secret, the secret
    Formbricks shows) needs it pasted. An existing source keeps its secret when none is given."""
    low, _, high = scale.partition("-")
    if not (low.isdigit() and high.isdigit()):
        raise typer.BadParameter("expected LOW-HIGH, e.g. 0-10", param_hint="--scale")
    if secret_stdin:
        lines = sys.stdin.read().splitlines()
        secret, api_token = (lines + ["", ""])[0].strip(), (lines + ["", ""])[1].strip() or None
    else:
        secret = typer.prompt(
            "signing secret (empty: generate one)", default="", show_default=False, hide_input=True
        ).strip()
        api_token = None
        if tool in ("surveymonkey", "qualtrics"):
            api_token = typer.prompt("API token", hide_input=True)
    body: dict[str, Any] = {
        "tool": tool,
        "kind": kind,
        "secret": secret or None,
        "scale_min": int(low),
        "scale_max": int(high),
        "fields": {
            k: v
            for k, v in {
                "score": score_field,
                "comment": comment_field,
                "respondent": _pairs(respondent, "--respondent"),
                "segments": _pairs(segment, "--segment"),
                "owners": _pairs(owner, "--owner"),
            }.items()
            if v
        },
        "survey_ids": survey_id,
        "api_base_url": api_base_url,
        "api_token": api_token,
        "client_id": client_id,
    }
    response = call(tenant, url, "PUT", f"/sources/{name}", json=body)
    shown = response.json()
    print(f"saved source {name} ({tool})", file=sys.stderr)
    _print_secret(shown)


def _print_secret(shown: dict[str, Any]) -> None:
    print(f"webhook URL: {shown['webhook_url']}")
    if shown.get("generated_secret"):
        print(
            f"signing secret (shown once; paste it into {shown['tool']}): "
            f"{shown['generated_secret']}"
        )


@source_app.command("rotate")
def source_rotate(
    name: str,
    tenant: Annotated[str, TENANT],
    secret_stdin: Annotated[
        bool, typer.Option(help="Read the new secret from stdin (a tool that issues its own)")
    ] = False,
    url: Annotated[str, URL] = DEFAULT_URL,
) -> None:
    """Give the source a new signing secret, its configuration kept: generated and printed
    once, or (a tool that issues its own) read from stdin. The old secret is refused from now
    on: paste the new one into the tool at once."""
    body = {"secret": sys.stdin.readline().strip() or None} if secret_stdin else {}
    response = call(tenant, url, "POST", f"/sources/{name}/rotate-secret", json=body)
    print(f"new secret for source {name}", file=sys.stderr)
    _print_secret(response.json())


@source_app.command("deliveries")
def source_deliveries(
    name: str,
    tenant: Annotated[str, TENANT],
    limit: Annotated[int, typer.Option(help="How many lines, newest first")] = 20,
    url: Annotated[str, URL] = DEFAULT_URL,
) -> None:
    """How the source's deliveries were answered, a line per minute and outcome: last time,
    status, outcome, how many, the last one's trace id."""
    response = call(tenant, url, "GET", f"/sources/{name}/deliveries", params={"limit": limit})
    _lines(
        response.json()["deliveries"], "no deliveries in the last 7 days",
        ("last_at", "status_code", "outcome", "count", "last_trace_id"),
    )  # fmt: skip


def _lines(rows: list[dict[str, Any]], empty: str, columns: tuple[str, ...]) -> None:
    """One tab-separated line per row (times to the second, counts as xN), or `empty`."""
    if not rows:
        print(empty, file=sys.stderr)
    for row in rows:
        cells = [
            f"x{row[c]}" if c == "count" else str(row[c])[:19] if c.endswith("_at") else str(row[c])
            for c in columns
        ]
        print("\t".join(cells))


@source_app.command("list")
def source_list(tenant: Annotated[str, TENANT], url: Annotated[str, URL] = DEFAULT_URL) -> None:
    """One line per source: name, tool, score question, webhook path."""
    response = call(tenant, url, "GET", "/sources")
    for source in response.json()["sources"]:
        score = source["config"]["fields"].get("score") or "-"
        print(f"{source['name']}\t{source['tool']}\tscore={score}\t{source['webhook_path']}")


@source_app.command("show")
def source_show(
    name: str, tenant: Annotated[str, TENANT], url: Annotated[str, URL] = DEFAULT_URL
) -> None:
    """The source's configuration as JSON (without its secrets)."""
    response = call(tenant, url, "GET", f"/sources/{name}")
    print(json.dumps(response.json(), indent=2))


@source_app.command("remove")
def source_remove(
    name: str, tenant: Annotated[str, TENANT], url: Annotated[str, URL] = DEFAULT_URL
) -> None:
    """Delete a source; its deliveries then get 401 and are kept."""
    call(tenant, url, "DELETE", f"/sources/{name}", expect=204)
    print(f"removed source {name}", file=sys.stderr)


@rejected_app.command("list")
def rejected_list(
    tenant: Annotated[str, TENANT],
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
    source: Annotated[str | None, typer.Option(help="Only this source's")] = None,
    url: Annotated[str, URL] = DEFAULT_URL,
) -> None:
    """ID, when, source, status, replayable, reason."""
    params: dict[str, Any] = {"limit": limit} | ({"source": source} if source else {})
    response = call(tenant, url, "GET", "/rejected", params=params, role="ops")
    rows = response.json()["rejected"]
    if not rows:
        print("nothing was refused", file=sys.stderr)
    for row in rows:
        replay = "replayed" if row["replayed_at"] else ("replayable" if row["verified"] else "-")
        print(
            f"{row['id']}\t{row['received_at'][:19]}\t{row['source']}\t{row['status_code']}"
            f"\t{replay}\t{row['reason']}"
        )


@rejected_app.command("unverified")
def rejected_unverified(
    tenant: Annotated[str, TENANT],
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
    url: Annotated[str, URL] = DEFAULT_URL,
) -> None:
    """Deliveries that failed verification (sampled, no body): when, source, client, status,
    how many, reason. A tool posting with a wrong secret shows up here."""
    response = call(
        tenant, url, "GET", "/unverified-deliveries", params={"limit": limit}, role="ops"
    )
    _lines(
        response.json()["unverified"], "no unverified deliveries",
        ("received_at", "source", "client", "status_code", "count", "reason"),
    )  # fmt: skip


@rejected_app.command("show")
def rejected_show(
    rejected_id: int, tenant: Annotated[str, TENANT], url: Annotated[str, URL] = DEFAULT_URL
) -> None:
    """Everything kept about one refused body, the body itself included (base64)."""
    response = call(tenant, url, "GET", f"/rejected/{rejected_id}", role="ops")
    print(json.dumps(response.json(), indent=2))


@rejected_app.command("replay")
def rejected_replay(
    rejected_id: int, tenant: Annotated[str, TENANT], url: Annotated[str, URL] = DEFAULT_URL
) -> None:
    """Run a kept body through its source again (after fixing the source's configuration)."""
    response = call(tenant, url, "POST", f"/rejected/{rejected_id}/replay", role="ops", expect=None)
    print(json.dumps(response.json(), indent=2))
