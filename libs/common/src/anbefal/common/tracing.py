"""The trace id: one value that follows an answer from the webhook to the email.

The path (every hop copies the Kafka header `trace-id`, `kafka.TRACE_HEADER`):

1. ingest takes `X-Request-Id` when it fits (`request_trace_id`) or makes a fresh id, logs
   with it, answers it in the 202 body and sets it as the header of every record it produces
   on `anbefal.responses.v1`;
2. scoring and closed-loop consume those records; the shared consumer loop binds the batch's
   trace ids into the structlog context (`bind_batch`), so every log line the handler writes
   carries them;
3. closed-loop copies the header of the answer into the outbox row of each action it creates,
   and its relay publishes the action on `anbefal.actions.v1` with that header;
4. notify's consumer binds it the same way, stores it on the email row (`trace_id`) and the
   mail worker logs the send with it.

`grep <trace id>` over the four services' logs therefore shows one answer's whole journey.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence

import structlog

TRACE_HEADER = "trace-id"
# A batch of 500 records could carry 500 ids; a log line with all of them helps nobody.
MAX_IDS_PER_LINE = 20


# Every store of a trace id (closed_loop's actions, notify's emails, outbox rows) holds 64
# characters; a longer or odd id from a client would fail those writes far from the request.
MAX_TRACE_ID = 64
_CLEAN_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_TRACE_ID}}}")


def request_trace_id(x_request_id: str | None) -> str:
    """The trace id of a request: the client's `X-Request-Id` when it is a plain id of at most
    64 characters, otherwise a fresh one (the client's value is not trusted to fit)."""
    if x_request_id and _CLEAN_ID.fullmatch(x_request_id):
        return x_request_id
    return uuid.uuid4().hex


def trace_id_of(headers: Iterable[tuple[str, bytes]] | None) -> str | None:
    for name, value in headers or ():
        if name == TRACE_HEADER:
            return value.decode(errors="replace")
    return None


def batch_trace_ids(headers_per_record: Iterable[Sequence[tuple[str, bytes]] | None]) -> list[str]:
    """The distinct trace ids of a batch, in first-seen order."""
    seen: dict[str, None] = {}
    for headers in headers_per_record:
        trace = trace_id_of(headers)
        if trace is not None:
            seen.setdefault(trace, None)
    return list(seen)


@contextlib.contextmanager
def bind_batch(headers_per_record: Iterable[Sequence[tuple[str, bytes]] | None]) -> Iterator[None]:
    """Bind the batch's trace id(s) into the structlog context for the duration of the block.

    One id binds `trace_id`; several bind `trace_ids` (capped at MAX_IDS_PER_LINE) so a grep for
    any one of them finds the batch's lines.
    """
    ids = batch_trace_ids(headers_per_record)
    if not ids:
        yield
        return
    context = {"trace_id": ids[0]} if len(ids) == 1 else {"trace_ids": ids[:MAX_IDS_PER_LINE]}
    with structlog.contextvars.bound_contextvars(**context):
        yield
