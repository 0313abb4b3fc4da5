"""Deadline-day burst: post answers through ingest's batch endpoint as fast as the machine
allows, with the whole system running, and measure what happens downstream.

Prints accepted answers per second, peak consumer lag, drain time (last 202 -> every consumer
at the end of its topics, nothing held or unsent), the loss and double-count figures of the
fault harness's checkers (must be 0), beside a raw baseline measured in the same run: the same
number of records of the same size produced straight to Kafka with the idempotent producer (no
HTTP, no validation). Exits 1 when a checker found a problem.

    uv run python bench/burst.py              # 20,000 answers (about two minutes with start-up)
    uv run python bench/burst.py --full       # 200,000 answers
    uv run python bench/burst.py --copies 2   # two processes of each consumer service
    uv run python bench/burst.py --full --respondents 5000   # 40 answers per respondent
    uv run python bench/burst.py --py-spy /tmp/burst   # and each service's costliest code
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from anbefal.devstack.burst import run_burst


async def main_async(
    total: int,
    batch: int,
    concurrency: int,
    copies: int,
    py_spy: Path | None,
    respondents: int | None,
) -> int:
    result = await run_burst(
        total, batch, concurrency, copies=copies, py_spy=py_spy, respondents=respondents
    )
    print("\n".join(result.lines()))
    return 1 if result.verdict.problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=20_000, help="answers to post")
    parser.add_argument("--full", action="store_true", help="200,000 answers (deadline day)")
    parser.add_argument("--batch", type=int, default=500, help="answers per request (max 500)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent senders")
    parser.add_argument("--copies", type=int, default=1, help="processes per consumer service")
    parser.add_argument(
        "--respondents",
        type=int,
        help="people the answers come from (default: one per 4 answers, so a respondent's "
        "history is the same at any size; each answer reads its respondent's earlier actions)",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="FILE",
        help="record each service with py-spy (FILE.<service>.txt) and print its costliest "
        "functions in µs per answer",
    )
    args = parser.parse_args()
    total = 200_000 if args.full else args.answers
    run = main_async(
        total, args.batch, args.concurrency, args.copies, args.py_spy, args.respondents
    )
    raise SystemExit(asyncio.run(run))


if __name__ == "__main__":
    main()
