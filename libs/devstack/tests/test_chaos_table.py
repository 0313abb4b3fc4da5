"""The chaos log's table (`make chaos` prints it after the fault suite)."""

from __future__ import annotations

from anbefal.devstack.chaos import render_table


def test_an_empty_log_prints_the_header_only() -> None:
    (header,) = render_table([]).splitlines()
    assert header.split()[0] == "fault"


def test_columns_are_as_wide_as_their_widest_cell() -> None:
    row = {"fault": "a-very-long-fault-name", "scale": "small", "sent": 10, "ok": True}
    header, line = render_table([row]).splitlines()
    assert header.index("scale") == line.index("small")


def test_the_leader_failover_row_shows_its_election_window() -> None:
    row = {"fault": "partition leader SIGKILL (3 brokers)", "election_window_s": 9.52, "ok": True}
    header, line = render_table([row]).splitlines()
    assert line[header.index("election_window_s") :].startswith("9.52")
