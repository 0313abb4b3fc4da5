"""CSV files of accounts and people (`PUT .../accounts|people` with `Content-Type: text/csv`),
read row by row: a bad file is refused as a whole, with every bad row named by its line in the
file (the header is line 1), its column and why, so nothing is ever loaded in part."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from anbefal.closed_loop.owners import AccountsDoc, PeopleDoc

Cells = dict[str, str]
Rows = list[tuple[int, Cells]]  # (line in the file, the row's non-empty cells)
D = TypeVar("D", bound=BaseModel)


@dataclass(frozen=True)
class RowError:
    row: int | None  # the line in the file; None: the file as a whole
    field: str  # the column; "" for the row as a whole
    message: str
    type: str  # pydantic's error type, or `repeated`, `extra_cells`, `empty_file`

    def detail(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message, "type": self.type}


class CsvRefused(ValueError):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(f"row {e.row}: {e.field}: {e.message}" for e in errors))
        self.errors = errors


def _rows(text: str) -> tuple[Rows, list[RowError]]:
    """The rows under the header, empty cells left out (so the model's defaults apply)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    rows: Rows = []
    errors: list[RowError] = []
    for row in reader:
        if row.get(None):
            errors.append(RowError(reader.line_num, "", "more cells than the header has columns",
                                   "extra_cells"))  # fmt: skip
            continue
        cells = {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip()}
        rows.append((reader.line_num, cells))
    if not rows and not errors:
        errors.append(RowError(None, "", "the file has no rows under its header", "empty_file"))
    return rows, errors


def _repeats(rows: Rows, field: str, key: Callable[[Cells], str | None]) -> list[RowError]:
    first: dict[str, int] = {}
    errors = []
    for line, cells in rows:
        k = key(cells)
        if k is None:
            continue
        if k in first:
            errors.append(RowError(line, field, f"{k} is also in row {first[k]}", "repeated"))
        else:
            first[k] = line
    return errors


def _validated(model: type[D], lists: dict[str, Rows], errors: list[RowError]) -> D:
    """`model` from the rows, or `CsvRefused` naming every bad row. The document's own check
    for repeats is the rows' `repeated` errors, already found with the lines they are on."""
    try:
        doc = model.model_validate({name: [c for _, c in rows] for name, rows in lists.items()})
    except ValidationError as exc:
        for err in exc.errors():
            loc = err["loc"]
            if len(loc) >= 2 and loc[0] in lists and isinstance(loc[1], int):
                field = str(loc[2]) if len(loc) > 2 else ""
                line = lists[str(loc[0])][loc[1]][0]
                errors.append(RowError(line, field, err["msg"], err["type"]))
            elif not any(e.type == "repeated" for e in errors):
                errors.append(RowError(None, ".".join(map(str, loc)), err["msg"], err["type"]))
    if errors:
        raise CsvRefused(sorted(errors, key=lambda e: (e.row or 0, e.field)))
    return doc


def accounts_from_csv(text: str) -> AccountsDoc:
    """Columns `account_id,salesperson,director` for an account, `dimension,value,director` for
    a segment (a row with a dimension or a value); one file may hold both kinds of row."""
    rows, errors = _rows(text)
    segments = [(n, c) for n, c in rows if "dimension" in c or "value" in c]
    accounts = [(n, c) for n, c in rows if not ("dimension" in c or "value" in c)]
    errors += _repeats(accounts, "account_id", lambda c: c.get("account_id"))
    errors += _repeats(segments, "value", lambda c: f"{c.get('dimension')}={c.get('value')}")
    return _validated(AccountsDoc, {"accounts": accounts, "segments": segments}, errors)


def people_from_csv(text: str) -> PeopleDoc:
    """Columns `email,name,time_zone,work_start,work_end,work_days,holiday_country`."""
    rows, errors = _rows(text)
    errors += _repeats(rows, "email", lambda c: c["email"].lower() if "email" in c else None)
    return _validated(PeopleDoc, {"people": rows}, errors)
