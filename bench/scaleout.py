"""Scale-out check: the deadline-day burst drained by one process of each consumer service,
then by two sharing the load (the same consumer groups, outboxes and tables), side by side.

Each run has its own broker and database. Prints each run's drain time (last 202 -> everything
stored and sent) and end-to-end rate, the ratio two/one of the drain times (at most 1: two
copies are not slower), and the checkers' figures for both (nothing lost, nothing counted
twice, one task per decided action). Exits 1 when a checker found a problem in either run.

    uv run python bench/scaleout.py                   # 20,000 answers per run
    uv run python bench/scaleout.py --answers 5000
"""

from __future__ import annotations

import argparse
import asyncio

from anbefal.devstack.burst import BurstResult, run_burst


def table(one: BurstResult, two: BurstResult) -> list[str]:
    rows = [
        ("accepted/s", f"{one.accepted_per_s:,.0f}", f"{two.accepted_per_s:,.0f}"),
        ("peak lag", f"{one.peak_lag:,}", f"{two.peak_lag:,}"),
        ("drain time", f"{one.drain_s:.1f} s", f"{two.drain_s:.1f} s"),
        ("end to end/s", f"{one.end_to_end_per_s:,.0f}", f"{two.end_to_end_per_s:,.0f}"),
        ("stored", f"{one.verdict.stored:,}", f"{two.verdict.stored:,}"),
        ("lost", str(one.verdict.lost), str(two.verdict.lost)),
        ("counted twice", str(one.verdict.duplicates), str(two.verdict.duplicates)),
        ("problems", str(len(one.verdict.problems)), str(len(two.verdict.problems))),
    ]
    lines = [f"{'':<16}{'one copy':>14}{'two copies':>14}"]
    lines += [f"{label:<16}{a:>14}{b:>14}" for label, a, b in rows]
    lines.append(f"drain ratio two/one: {two.drain_s / one.drain_s:.2f} (at most 1: not slower)")
    for result in (one, two):
        lines += [f"PROBLEM ({result.copies} copies) {p}" for p in result.verdict.problems]
    return lines


async def main_async(total: int, batch: int, concurrency: int) -> int:
    one = await run_burst(total, batch, concurrency, copies=1, raw=False)
    print("\n".join(["== one copy of each consumer service", *one.lines()]), flush=True)
    two = await run_burst(total, batch, concurrency, copies=2, raw=False)
    print("\n".join(["== two copies of each consumer service", *two.lines()]))
    print("\n".join(["", "== side by side", *table(one, two)]))
    return 1 if one.verdict.problems or two.verdict.problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=20_000, help="answers per run")
    parser.add_argument("--batch", type=int, default=500, help="answers per request (max 500)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent senders")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main_async(args.answers, args.batch, args.concurrency)))


if __name__ == "__main__":
    main()
