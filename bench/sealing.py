"""Ingest's CPU to seal one answer's contact data when it seals alone (a steady low rate):
ingest's one statement (`intake/sealing.py`) beside a transaction of its own through a pooled
session (`seal_events`, as ingest sealed before and as a consumer does in its batch), in the
same run, interleaved, for new respondents (a key minted) and known ones (a key read).

Prints the CPU time of this process (the client side: what ingest spends) and the wall time
per answer, and the ratio of the two ways. PostgreSQL runs on its own; no Kafka.

    uv run python bench/sealing.py
    uv run python bench/sealing.py --answers 1000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from anbefal.common.contact import seal_events
from anbefal.common.crypto import Keyring
from anbefal.common.datakeys import DataKeys
from anbefal.common.db import create_engine, create_sessionmaker
from anbefal.common.events import SurveyResponse
from anbefal.common.migrations import upgrade_all
from anbefal.devstack.paths import state_dir
from anbefal.devstack.postgres import start_postgres
from anbefal.devstack.testing import TEST_DATA_KEYS, asyncpg_dsn, free_port
from anbefal.ingest.intake.pipeline import to_event
from anbefal.ingest.intake.sealing import SharedSealer
from anbefal.ingest.schemas import ResponseIn

KEYS = DataKeys(Keyring.parse(TEST_DATA_KEYS))


def answer(n: int) -> SurveyResponse:
    item = ResponseIn.model_validate(
        {
            "response_id": f"r-{n}",
            "score": n % 11,
            "answered_at": "2026-12-01T10:00:00+01:00",
            "respondent": {"id": f"c-{n}", "name": "Kunde", "email": f"k{n}@example.com"},
        }
    )
    return to_event("bench", item, datetime.now(UTC))


async def timed(
    seal: Callable[[SurveyResponse], Awaitable[object]], first: int, n: int
) -> tuple[float, float]:
    """CPU and wall seconds per answer, sealing answers `first`..`first + n` one at a time."""
    answers = [answer(first + i) for i in range(n)]
    cpu, wall = time.process_time(), time.perf_counter()
    for a in answers:
        await seal(a)
    return (time.process_time() - cpu) / n, (time.perf_counter() - wall) / n


async def run(url: str, n: int, rounds: int) -> None:
    engine = create_engine(url, pool_size=2)
    sessions = create_sessionmaker(engine)
    sealer = SharedSealer(KEYS, asyncpg_dsn(url))

    async def transaction(a: SurveyResponse) -> object:
        async with sessions() as session, session.begin():
            return await seal_events(session, KEYS, [a])

    async def statement(a: SurveyResponse) -> object:
        return await sealer.seal([a])

    ways = {"transaction": (transaction, 1_000_000), "one statement": (statement, 2_000_000)}
    try:
        for seal, base in ways.values():
            await timed(seal, base - 100, 50)  # warm: connections, prepared statements
        for r in range(rounds):
            figures: dict[str, dict[str, tuple[float, float]]] = {}
            for respondents in ("new", "known"):  # "known": the same ones again
                for way, (seal, base) in ways.items():
                    figures.setdefault(respondents, {})[way] = await timed(seal, base + r * n, n)
            for respondents, by_way in figures.items():
                (t_cpu, t_wall), (s_cpu, s_wall) = by_way["transaction"], by_way["one statement"]
                print(
                    f"round {r + 1}, {respondents:5s} respondents: transaction"
                    f" {t_cpu * 1e6:6,.0f} µs CPU {t_wall * 1e3:5.2f} ms wall;"
                    f" one statement {s_cpu * 1e6:6,.0f} µs CPU {s_wall * 1e3:5.2f} ms wall;"
                    f" ratio CPU {s_cpu / t_cpu:.2f},"
                    f" wall {s_wall / t_wall:.2f}"
                )
    finally:
        await sealer.close()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=400, help="answers per way and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args()
    root = state_dir() / "bench" / "sealing"
    shutil.rmtree(root, ignore_errors=True)
    postgres = start_postgres(root / "postgres", free_port())
    try:
        postgres.create_database("sealing")
        url = postgres.url("sealing")
        upgrade_all(url)
        asyncio.run(run(url, args.answers, args.rounds))
    finally:
        postgres.stop()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
