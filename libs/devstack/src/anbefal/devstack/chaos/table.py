"""The chaos log: one row per fault run in `tests/test-artifacts/chaos.jsonl`, printed as a
table by `make chaos` (`python -m anbefal.devstack.chaos table|reset`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from anbefal.devstack.paths import project_root


def record_row(row: dict[str, Any]) -> None:
    """Append one fault's outcome to the chaos log (`make chaos` prints it)."""
    path = chaos_log()
    path.parent.mkdir(exist_ok=True)
    with path.open("a") as out:
        out.write(json.dumps(row) + "\n")


def chaos_log() -> Path:
    return project_root() / "tests" / "test-artifacts" / "chaos.jsonl"


def render_table(rows: list[dict[str, Any]]) -> str:
    columns = (
        "fault",
        "scale",
        "sent",
        "acknowledged",
        "stored",
        "duplicates",
        "lost",
        "email_redeliveries",
        "election_window_s",
        "ok",
    )
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m anbefal.devstack.chaos table|reset`: print or clear the chaos log."""
    command = (argv if argv is not None else sys.argv[1:] or ["table"])[0]
    path = chaos_log()
    if command == "reset":
        path.unlink(missing_ok=True)
        return 0
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    print(render_table(rows))  # noqa: T201
    bad = [r for r in rows if r["lost"] or r["duplicates"] or not r["ok"]]
    return 1 if bad or not rows else 0
