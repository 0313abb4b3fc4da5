"""`anbefal import`: backfilling history from a CSV file through ingest's API (the sources and
the refused bodies are `sources.py`'s)."""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from anbefal.cli.api import fail, tenant_client
from anbefal.common.services import INGEST

DEFAULT_URL = INGEST.dev_url
URL = typer.Option(help="Base URL of the ingest service")
TENANT = typer.Option(help="Tenant slug")

app = typer.Typer()  # `import` is added to the root app as a top-level command


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
