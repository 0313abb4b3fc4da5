"""Every line a service writes is one JSON object, the libraries' lines (aiokafka's, uvicorn's)
included: a reader filtering by level must not miss the broker client's own warnings."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _lines_written_by(code: str) -> list[dict[str, object]]:
    """Run `code` after `configure_logging("svc")` in a fresh interpreter (logging is
    process-wide); the JSON objects it wrote to stderr, one per line."""
    script = "from anbefal.common.logging import configure_logging\n"
    script += 'configure_logging("svc")\n' + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return [json.loads(line) for line in done.stderr.splitlines()]


def test_a_library_warning_is_a_json_line_with_its_level_and_logger() -> None:
    lines = _lines_written_by(
        """
        import logging
        logging.getLogger("aiokafka.consumer.group_coordinator").warning(
            "Heartbeat failed for group %s", "g1"
        )
        logging.getLogger("aiokafka").info("chatter")
        """
    )
    assert len(lines) == 1, lines
    (line,) = lines
    assert line["event"] == "Heartbeat failed for group g1"
    assert line["level"] == "warning"
    assert line["logger"] == "aiokafka.consumer.group_coordinator"
    assert line["service"] == "svc"
    assert "timestamp" in line


def test_a_library_exception_keeps_its_traceback() -> None:
    lines = _lines_written_by(
        """
        import logging
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("aiokafka").exception("Unexpected error in coordinator routine")
        """
    )
    (line,) = lines
    assert line["level"] == "error"
    assert "ValueError: boom" in str(line["exception"])


def test_uvicorn_lines_are_json_too() -> None:
    lines = _lines_written_by(
        """
        import logging
        import logging.config
        from uvicorn.config import LOGGING_CONFIG
        # What uvicorn.run does before it imports the app (which configures logging).
        logging.config.dictConfig(LOGGING_CONFIG)
        from anbefal.common.logging import configure_logging
        configure_logging("svc")
        logging.getLogger("uvicorn.error").info("Started server process [1]")
        """
    )
    assert [line["event"] for line in lines] == ["Started server process [1]"]
    assert lines[0]["level"] == "info"


def test_the_service_own_lines_are_unchanged() -> None:
    lines = _lines_written_by(
        """
        from anbefal.common.logging import get_logger
        get_logger("x").info("batch committed", records=3)
        """
    )
    assert lines == [
        {
            "records": 3,
            "event": "batch committed",
            "service": "svc",
            "level": "info",
            "timestamp": lines[0]["timestamp"],
        }
    ]
