"""The consumer loop binds a batch's trace ids into every log line written while it runs."""

from __future__ import annotations

import structlog
from structlog.testing import capture_logs

from anbefal.common import tracing


def test_one_trace_id_is_bound_as_trace_id() -> None:
    headers = [[("trace-id", b"abc"), ("other", b"x")], [("trace-id", b"abc")]]
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        with tracing.bind_batch(headers):
            structlog.get_logger().info("inside")
        structlog.get_logger().info("outside")
    assert logs[0]["trace_id"] == "abc"
    assert "trace_id" not in logs[1]


def test_several_trace_ids_are_bound_in_first_seen_order_and_capped() -> None:
    headers = [[("trace-id", f"t{i % 30}".encode())] for i in range(60)] + [None]
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        with tracing.bind_batch(headers):
            structlog.get_logger().info("inside")
    assert logs[0]["trace_ids"] == [f"t{i}" for i in range(tracing.MAX_IDS_PER_LINE)]


def test_records_without_trace_header_bind_nothing() -> None:
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        with tracing.bind_batch([None, [("x", b"y")]]):
            structlog.get_logger().info("inside")
    assert "trace_id" not in logs[0]
    assert "trace_ids" not in logs[0]


def test_a_request_id_is_kept_only_when_it_fits() -> None:
    assert tracing.request_trace_id("req-42.a:b_c") == "req-42.a:b_c"
    assert tracing.request_trace_id("a" * 64) == "a" * 64
    for unfit in ("a" * 65, "x" * 100, "has space", "new\nline", "", None):
        fresh = tracing.request_trace_id(unfit)
        assert fresh != unfit
        assert len(fresh) == 32
