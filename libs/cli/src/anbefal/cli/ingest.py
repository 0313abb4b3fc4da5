"""`anbefal source ...`, `anbefal rejected ...` and `anbefal import`: survey-tool sources, the
bodies ingest refused, and backfilling history from a CSV file, all through ingest's API."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from anbefal.cli.api import call, fail, tenant_client
from anbefal.common.services import INGEST

DEFAULT_URL = INGEST.dev_url
URL = typer.Option(help="Base URL of the ingest service")
TENANT = typer.Option(help="Tenant slug")

source_app = typer.Typer(help="Survey-tool sources (webhooks) of a tenant.", no_args_is_help=True)
rejected_app = typer.Typer(help="Bodies ingest refused, kept for ops.", no_args_is_help=True)
app = typer.Typer()  # `import` is added to the root app as a top-level command


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
    print(f"webhook URL: {url.rstrip('/')}{shown['webhook_path']}")
    if shown.get("generated_secret"):
        print(f"signing secret (shown once; paste it into {tool}): {shown['generated_secret']}")


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
    url: Annotated[str, URL] = DEFAULT_URL,
) -> None:
    """ID, when, source, status, replayable, reason."""
    response = call(tenant, url, "GET", "/rejected", params={"limit": limit}, role="ops")
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
    rows = response.json()["unverified"]
    if not rows:
        print("no unverified deliveries", file=sys.stderr)
    for row in rows:
        print(
            f"{row['received_at'][:19]}\t{row['source']}\t{row['client']}\t{row['status_code']}"
            f"\tx{row['count']}\t{row['reason']}"
        )


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


# CSV columns (a header row names them; only response_id, score and answered_at are required).
CSV_TOP = ("response_id", "kind", "score", "comment", "answered_at", "survey_id", "version")
CSV_RESPONDENT = {
    "respondent_id": "id",
    "name": "name",
    "email": "email",
    "phone": "phone",
    "locale": "locale",
    "account_id": "account_id",
}
CSV_OWNERS = ("salesperson", "director")
SEGMENT_PREFIX = "segment."


def csv_answer(row: dict[str, str]) -> dict[str, Any]:
    """One CSV row as our generic format; the server validates it (and names bad fields)."""
    doc: dict[str, Any] = {}
    for column in CSV_TOP:
        value = (row.get(column) or "").strip()
        if value:
            doc[column] = (
                int(value) if column in ("score", "version") and value.isdigit() else value
            )
    respondent = {
        key: row[column].strip()
        for column, key in CSV_RESPONDENT.items()
        if (row.get(column) or "").strip()
    }
    owners = {key: row[key].strip() for key in CSV_OWNERS if (row.get(key) or "").strip()}
    segments = {
        column.removeprefix(SEGMENT_PREFIX): value.strip()
        for column, value in row.items()
        if column and column.startswith(SEGMENT_PREFIX) and (value or "").strip()
    }
    if respondent:
        doc["respondent"] = respondent
    if owners:
        doc["owners"] = owners
    if segments:
        doc["segments"] = segments
    return doc


def _batches(path: Path, size: int) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"response_id", "score", "answered_at"} - set(reader.fieldnames or ())
        if missing:
            raise typer.BadParameter(f"{path} has no column {', '.join(sorted(missing))}")
        batch: list[tuple[int, dict[str, Any]]] = []
        for row in reader:
            batch.append((reader.line_num, csv_answer(row)))
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch


def post_batch(
    client: httpx.Client, docs: list[dict[str, Any]], *, history: bool, attempts: int = 10
) -> httpx.Response:
    """POST a batch; on 429/503 wait as the server says and try again (the batch is idempotent)."""
    for _ in range(attempts):
        response = client.post("/responses", json={"responses": docs, "history": history})
        if response.status_code not in (429, 503):
            return response
        time.sleep(float(response.headers.get("retry-after", "1")))
    return response


@app.command("import")
def import_csv(
    file: Annotated[
        Path, typer.Argument(help="CSV with a header row", exists=True, dir_okay=False)
    ],
    tenant: Annotated[str, TENANT],
    batch_size: Annotated[int, typer.Option(min=1, max=500, help="Answers per request")] = 500,
    url: Annotated[str, URL] = DEFAULT_URL,
    route: Annotated[
        bool,
        typer.Option(
            "--route",
            help="Route the answers as if they came in now (tasks, mails) instead of importing "
            "them as history; answers older than a rule's max_age_hours are still not acted on",
        ),
    ] = False,
) -> None:
    """Backfill history from a CSV file, keeping each answer's `answered_at`.

    Every row becomes an answer dated when it was given, so trends include the past. The
    answers are history: scored, never routed (no call task, no thank-you mail) unless
    `--route` is given.
    Columns: response_id, score, answered_at (required); kind, comment, survey_id, version,
    respondent_id, name, email, phone, locale, account_id, salesperson, director, and
    segment.<name> (e.g. segment.department). Importing the same file again changes nothing.
    """
    with file.open(encoding="utf-8-sig") as handle:
        total = max(0, sum(1 for _ in handle) - 1)
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    problems: list[str] = []
    columns = (
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[summary]}"),
        TimeRemainingColumn(),
    )
    with (
        tenant_client(tenant, url, role="ingest", timeout=60) as client,
        Progress(*columns, transient=False) as progress,
    ):
        task = progress.add_task("import", total=total, summary="")
        for batch in _batches(file, batch_size):
            response = post_batch(client, [doc for _, doc in batch], history=not route)
            if response.status_code == 422:
                details = response.json()["error"].get("details", [])
                results: list[dict[str, Any]] = [
                    {
                        "index": i,
                        "status": "rejected",
                        "errors": [d for d in details if d["field"].startswith(f"responses.{i}.")],
                    }
                    for i in range(len(batch))
                ]
            elif response.status_code in (202, 207):
                results = list(response.json()["results"])
            else:
                progress.stop()
                fail(response)
            for result in results:
                counts[result["status"]] += 1
                if result["status"] == "rejected":
                    prefix = f"responses.{result['index']}."
                    why = "; ".join(
                        f"{e['field'].removeprefix(prefix)}: {e.get('message')}"
                        for e in result.get("errors", [])
                    )
                    line = batch[int(result["index"])][0]
                    problems.append(f"line {line}: {why or 'invalid'}")
            progress.update(
                task,
                advance=len(batch),
                summary=f"new {counts['accepted']}, already there {counts['duplicate']}, "
                f"refused {counts['rejected']}",
            )
    for problem in problems[:50]:
        print(problem, file=sys.stderr)
    if len(problems) > 50:
        print(f"... and {len(problems) - 50} more refused rows", file=sys.stderr)
    print(
        f"imported {counts['accepted']} new answers, {counts['duplicate']} already there, "
        f"{counts['rejected']} refused",
        file=sys.stderr,
    )
    if route:
        routed = "routed by the rules, except those older than a rule's max_age_hours"
    else:
        routed = "0 routed: imported as history (no task, no mail; --route to change)"
    print(f"{counts['accepted']} answers scored, {routed}", file=sys.stderr)
    if counts["rejected"]:
        raise typer.Exit(1)
