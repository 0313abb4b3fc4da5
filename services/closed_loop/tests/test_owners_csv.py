"""CSV files of accounts and people: a bad file is refused as a whole, each bad row named by
its line in the file, its column and why."""

from __future__ import annotations

from datetime import time

import pytest

from anbefal.closed_loop.owners_csv import (
    CsvRefused,
    RowError,
    accounts_from_csv,
    people_from_csv,
)


def test_accounts_and_segments_from_one_csv() -> None:
    doc = accounts_from_csv(
        "\ufeffaccount_id,dimension,value,salesperson,director\n"
        "acme,,,sp@x.dk,ad@x.dk\n"
        ",store,Aarhus C,,store@x.dk\n"
    )
    assert [(a.account_id, a.salesperson, a.director) for a in doc.accounts] == [
        ("acme", "sp@x.dk", "ad@x.dk")
    ]
    assert [(s.dimension, s.value, s.director) for s in doc.segments] == [
        ("store", "Aarhus C", "store@x.dk")
    ]


def test_people_from_csv_with_day_ranges() -> None:
    doc = people_from_csv(
        "email,time_zone,work_start,work_end,work_days\n"
        "ida@x.dk,Europe/Copenhagen,09:00,17:00,mon-thu\n"
        "bo@x.dk,America/New_York,,,mon wed fri\n"
    )
    ida, bo = doc.people
    assert (ida.work_start, ida.work_end, ida.weekdays) == (time(9), time(17), frozenset(range(4)))
    assert (bo.work_start, bo.weekdays) == (time(8), frozenset({0, 2, 4}))


def refused(read: object, text: str) -> list[RowError]:
    with pytest.raises(CsvRefused) as caught:
        read(text)  # type: ignore[operator]
    return caught.value.errors


def test_each_bad_account_row_is_named_by_its_line_and_column() -> None:
    errors = refused(
        accounts_from_csv,
        "account_id,salesperson,director\n"
        "acme,sp@x.dk,ad@x.dk\n"
        "beta,not-an-address,ad@x.dk\n"  # line 3
        ",sp@x.dk,ad@x.dk\n"  # line 4: no account_id
        "acme,other@x.dk,\n",  # line 5: acme again
    )
    assert [(e.row, e.field, e.type) for e in errors] == [
        (3, "salesperson", "string_pattern_mismatch"),
        (4, "account_id", "missing"),
        (5, "account_id", "repeated"),
    ]
    assert errors[2].message == "acme is also in row 2"


def test_a_segment_row_and_extra_cells_are_reported_per_row() -> None:
    errors = refused(
        accounts_from_csv,
        "dimension,value,director\nstore,Aarhus C,store@x.dk\nstore,Odense\nstore,Vejle,a@x.dk,x\n",
    )
    assert [(e.row, e.field, e.type) for e in errors] == [
        (3, "director", "missing"),
        (4, "", "extra_cells"),
    ]


def test_each_bad_person_is_named_and_repeats_ignore_case() -> None:
    errors = refused(
        people_from_csv,
        "email,time_zone,work_start,work_end\n"
        "ida@x.dk,Mars/Olympus,,\n"
        "bo@x.dk,,17:00,09:00\n"
        "IDA@x.dk,,,\n",
    )
    assert [(e.row, e.field, e.type) for e in errors] == [
        (2, "time_zone", "value_error"),
        (3, "", "value_error"),
        (4, "email", "repeated"),
    ]
    assert "unknown time zone 'Mars/Olympus'" in errors[0].message


def test_a_file_without_rows_is_refused_rather_than_emptying_the_list() -> None:
    errors = refused(people_from_csv, "email,name\n")
    assert [(e.row, e.type) for e in errors] == [(None, "empty_file")]
