"""Ops commands: `anbefal dlq ...` (and the helpers `anbefal status` shares, `status.py`).

`dlq` reads a service's `dead_letters` table (ANBEFAL_DATABASE_URL) and can replay a record to
its original topic.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from anbefal.common.kafka import Publisher
from anbefal.common.kafka.connection import KafkaClientSettings
from anbefal.common.services import CONSUMERS

# Services that consume, hence have a dead_letters table (ingest only produces).
CONSUMING = {s.name: s for s in CONSUMERS}
# Headers the consumer loop adds on the DLQ topic; a replayed record must not carry them.
_DLQ_HEADER_PREFIX = "dlq-"

# Added to the root app without a name: `dlq` becomes a top-level command.
app = typer.Typer()
dlq_app = typer.Typer(help="Dead letters: records a consumer could not process.")
app.add_typer(dlq_app, name="dlq")


def metric_sum(metrics_text: str, family: str, *, empty_is_none: bool = False) -> int | None:
    """Sum of all samples of one metric family; None when the service does not expose it (or,
    with `empty_is_none`, exposes it without a sample: ingest has no consumer, so no lag)."""
    for metric in text_string_to_metric_families(metrics_text):
        if metric.name == family:
            samples = [s for s in metric.samples if not s.name.endswith("_created")]
            if not samples and empty_is_none:
                return None
            return int(sum(s.value for s in samples))
    return None


def parse_urls(overrides: list[str], defaults: dict[str, str], option: str) -> dict[str, str]:
    urls = dict(defaults)
    for item in overrides:
        name, sep, url = item.partition("=")
        if not sep or name not in urls:
            raise typer.BadParameter(
                f"expected SERVICE=URL with SERVICE one of {', '.join(urls)}", param_hint=option
            )
        urls[name] = url.rstrip("/")
    return urls


def _dead_letters(service: str) -> Table:
    if service not in CONSUMING:
        raise typer.BadParameter(f"one of {', '.join(CONSUMING)}", param_hint="--service")
    models = importlib.import_module(f"{CONSUMING[service].package}.models")
    table: Table = models.CONSUMER_TABLES.dead_letters
    return table


def _engine() -> AsyncEngine:
    url = os.environ.get("ANBEFAL_DATABASE_URL")
    if not url:
        raise typer.BadParameter("ANBEFAL_DATABASE_URL is not set")
    return create_async_engine(url)


ServiceOpt = Annotated[str, typer.Option("--service", help=f"One of: {', '.join(CONSUMING)}")]


async def list_dead_letters(
    engine: AsyncEngine, table: Table, *, include_replayed: bool, limit: int
) -> list[dict[str, Any]]:
    query = select(table).order_by(table.c.id).limit(limit)
    if not include_replayed:
        query = query.where(table.c.replayed_at.is_(None))
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in await conn.execute(query)]


async def get_dead_letter(engine: AsyncEngine, table: Table, id_: int) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(table).where(table.c.id == id_))).first()
    return None if row is None else dict(row._mapping)


async def replay_dead_letters(
    engine: AsyncEngine, table: Table, publisher: Publisher, ids: list[int], *, force: bool
) -> list[int]:
    """Publish each record to its original topic, then mark it replayed; returns replayed ids.

    Publish first, mark second: a crash in between replays a record twice, which the idempotent
    consumers absorb; the other order could mark a record that never went back.
    """
    replayed = []
    for id_ in ids:
        row = await get_dead_letter(engine, table, id_)
        if row is None:
            raise LookupError(f"no dead letter {id_}")
        if row["replayed_at"] is not None and not force:
            continue
        headers = [
            (k, v.encode()) for k, v in row["headers"] if not k.startswith(_DLQ_HEADER_PREFIX)
        ] + [("dlq-replayed-from", str(id_).encode())]
        await publisher.send(row["topic"], row["value"] or b"", key=row["key"], headers=headers)
        async with engine.begin() as conn:
            await conn.execute(
                update(table).where(table.c.id == id_).values(replayed_at=datetime.now(UTC))
            )
        replayed.append(id_)
    return replayed


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@dlq_app.command("list")
def dlq_list(
    service: ServiceOpt,
    all_: Annotated[bool, typer.Option("--all", help="Include replayed records")] = False,
    limit: Annotated[int, typer.Option(help="At most this many")] = 100,
) -> None:
    """Dead letters of one service, oldest first (pending only unless --all)."""
    table = _dead_letters(service)

    async def run() -> list[dict[str, Any]]:
        engine = _engine()
        try:
            return await list_dead_letters(engine, table, include_replayed=all_, limit=limit)
        finally:
            await engine.dispose()

    rows = asyncio.run(run())
    if not rows:
        print(f"no {'' if all_ else 'pending '}dead letters for {service}")
        return
    for row in rows:
        where = f"{row['topic']}[{row['partition']}]@{row['offset']}"
        state = "replayed" if row["replayed_at"] else "pending"
        print(
            f"{row['id']:>6}  {state:<8}  {row['failed_at']:%Y-%m-%d %H:%M:%S}  {where}  "
            f"{_short(row['error'], 80)}"
        )


@dlq_app.command("show")
def dlq_show(
    service: ServiceOpt,
    id_: Annotated[int, typer.Argument(metavar="ID", help="The dead letter's id")],
) -> None:
    """One dead letter in full: where it came from, why it failed, its headers and value."""
    table = _dead_letters(service)

    async def run() -> dict[str, Any] | None:
        engine = _engine()
        try:
            return await get_dead_letter(engine, table, id_)
        finally:
            await engine.dispose()

    row = asyncio.run(run())
    if row is None:
        print(f"no dead letter {id_} for {service}")
        raise typer.Exit(1)
    value: bytes = row["value"] or b""
    try:
        shown: Any = json.loads(value)
    except ValueError:
        shown = value.decode(errors="replace")
    doc = {
        "id": row["id"],
        "group": row["group_id"],
        "topic": row["topic"],
        "partition": row["partition"],
        "offset": row["offset"],
        "key": (row["key"] or b"").decode(errors="replace"),
        "failed_at": row["failed_at"].isoformat(),
        "replayed_at": row["replayed_at"].isoformat() if row["replayed_at"] else None,
        "error": row["error"],
        "headers": row["headers"],
        "value": shown,
    }
    print(json.dumps(doc, indent=2, ensure_ascii=False))


@dlq_app.command("replay")
def dlq_replay(
    service: ServiceOpt,
    ids: Annotated[list[int], typer.Argument(metavar="ID...", help="Dead letters to replay")],
    force: Annotated[bool, typer.Option(help="Replay even if replayed before")] = False,
) -> None:
    """Publish dead letters to their original topic and mark them replayed.

    Every consumer group of that topic sees the record again; they are idempotent, so only the
    group that failed on it changes anything. Fix the cause first, or it dead-letters again.
    """
    table = _dead_letters(service)
    bootstrap = os.environ.get("ANBEFAL_KAFKA_BOOTSTRAP")
    if not bootstrap:
        raise typer.BadParameter("ANBEFAL_KAFKA_BOOTSTRAP is not set")

    async def run() -> list[int]:
        engine = _engine()
        publisher = Publisher(
            KafkaClientSettings().kafka(), timeout=10, client_id="anbefal-dlq-replay"
        )
        await publisher.start()
        try:
            await publisher.wait_ready(30)
            return await replay_dead_letters(engine, table, publisher, ids, force=force)
        finally:
            await publisher.stop()
            await engine.dispose()

    try:
        done = asyncio.run(run())
    except LookupError as exc:
        print(str(exc))
        raise typer.Exit(1) from exc
    skipped = sorted(set(ids) - set(done))
    print(f"replayed {len(done)}: {done}" + (f"; already replayed: {skipped}" if skipped else ""))
