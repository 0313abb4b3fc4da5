"""Ingest throughput and latency, beside a raw baseline measured in the same run.

With the whole pipeline running (scoring, closed-loop and notify consuming what ingest
publishes), `wrk` drives:

1. signed single webhooks: Typeform deliveries, each a different answer with its own
   `Typeform-Signature`, answered 202 only after the broker's ack;
2. batches: the generic API, 500 answers per request;

and, for each, the raw baseline: the same requests to the same app's `/v1/bench/baseline`
route, which only reads the body and answers 202 (no signature check, no Kafka, no database).
It prints requests (or answers) per second, latency percentiles, and the ratio to the baseline,
then checks that Kafka holds exactly the answers that got a 202.

Beside each run it prints the CPU time every part of the system spent per acknowledged answer
(ingest, each consumer, the broker, PostgreSQL, and wrk itself), read from /proc before and after.
On a shared, noisy machine that figure is steadier than a rate, and it shows where the 2 cores
go: at 4,000 answers/s, the whole system may spend 500 µs of CPU per answer.

    uv run python bench/ingest.py                      # 3 pairs of 10 s runs
    uv run python bench/ingest.py --seconds 30 --connections 64 --workers 2
    uv run python bench/ingest.py --ingest-only --pairs 1

Baseline and real runs are interleaved A-B-A-B (`--pairs`, default 3) and the median ratio is
reported, so a change in the machine's speed during the run cancels out.

`wrk` comes from Debian's packages (installed with apt-get when missing and root).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.devstack.chaos import ChaosSystem
from anbefal.devstack.cpu import CpuMeter, PySpy, per_request_us
from anbefal.devstack.kafka import create_topics
from anbefal.devstack.paths import state_dir
from anbefal.devstack.scratch import scratch_servers
from anbefal.devstack.surveytools import typeform
from anbefal.devstack.testing import (
    TEST_DATA_KEYS,
    TEST_JWT_SECRET,
    TEST_UNSUBSCRIBE_KEYS,
    ServiceProcess,
    end_offsets,
)

SECRET = "bench-typeform-secret-of-32-chars-or-more"
TENANT = "bench"

# wrk's Lua, shared part: each thread gets an id (so no two threads send the same answer) and
# counts the statuses it gets; the summary line reports them.
LUA_COMMON = r"""
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, n in pairs(s) do total[code] = (total[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(total) do table.insert(parts, code .. "=" .. n) end
  io.write("STATUSES " .. table.concat(parts, " ") .. "\n")
end
"""

# Singles: every Nth prepared, signed delivery, N being the number of threads.
SINGLES_LUA = (
    LUA_COMMON
    + r"""
function init(args)
  requests_file = args[1]
  nthreads = tonumber(args[2])
  bodies, signatures = {}, {}
  for line in io.lines(requests_file) do
    local tab = line:find("\t", 1, true)
    table.insert(signatures, line:sub(1, tab - 1))
    table.insert(bodies, line:sub(tab + 1))
  end
  index = id + 1
  statuses = {}
end
function request()
  local i = ((index - 1) % #bodies) + 1
  index = index + nthreads
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Typeform-Signature"] = signatures[i]
  return wrk.format("POST", nil, headers, bodies[i])
end
"""
)

# Batches are built in Lua: 500 answers with ids no other request uses.
BATCH_LUA = (
    LUA_COMMON
    + r"""
function init(args)
  token = args[1]
  size = tonumber(args[2])
  run = args[3]
  answered_at = args[4]
  n = 0
  statuses = {}
end
function request()
  n = n + 1
  local items = {}
  for j = 1, size do
    local rid = run .. "-" .. id .. "-" .. n .. "-" .. j
    items[j] = '{"response_id":"' .. rid .. '","score":' .. (j % 11) ..
      ',"comment":"batch","answered_at":"' .. answered_at .. '",' ..
      '"respondent":{"id":"c-' .. (j % 997) .. '"},"segments":{"department":"d' .. (j % 8) .. '"}}'
  end
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. token
  return wrk.format("POST", nil, headers, '{"responses":[' .. table.concat(items, ",") .. "]}")
end
"""
)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is needed: apt-get install wrk")
    print("installing wrk from Debian's packages ...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def prepare_singles(path: Path, count: int, run: str) -> None:
    """`count` distinct Typeform deliveries, each signed exactly as Typeform signs."""
    with path.open("w") as handle:
        for i in range(count):
            signed = typeform(SECRET, token=f"{run}-{i}", score=i % 11, comment=None)
            body = signed.body.decode()
            assert "\t" not in body
            assert "\n" not in body
            handle.write(f"{signed.headers['typeform-signature']}\t{body}\n")


def check_signature_scheme() -> None:
    """The prepared signature really is Typeform's (a bench of unsigned bodies would flatter)."""
    signed = typeform(SECRET, token="x", score=1)
    expected = base64.b64encode(hmac.new(SECRET.encode(), signed.body, hashlib.sha256).digest())
    assert signed.headers["typeform-signature"] == f"sha256={expected.decode()}"


def run_wrk(
    wrk: str, url: str, script: Path, args: list[str], seconds: int, connections: int, threads: int
) -> dict[str, Any]:
    cmd = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
        "-s", str(script), url, "--", *args,
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    percentiles = {
        p: _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", out, re.MULTILINE)
    }
    line = re.search(r"^STATUSES (.*)$", out, re.MULTILINE)
    statuses = dict(s.split("=") for s in (line.group(1).split() if line else []))
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rate": rate,
        "p": percentiles,
        "statuses": {k: int(v) for k, v in statuses.items()},
        "socket_errors": errors.group(1) if errors else "",
    }


def cpu_line(before: dict[str, float], after: dict[str, float], answers: int) -> str:
    """µs of CPU per acknowledged answer, per part and in all."""
    per = per_request_us(before, after, answers)
    parts = "  ".join(f"{name} {us:,.0f}" for name, us in per.items())
    return f"{'CPU µs per answer':<34} {sum(per.values()):>10,.0f}   ({parts})"


def report_pairs(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]], per_request: int
) -> dict[str, Any]:
    """Print the median of the pairs' ratios and return the median real run (by rate)."""
    ratios = sorted(real["rate"] / base["rate"] for base, real in pairs)
    reals = sorted((real for _, real in pairs), key=lambda r: r["rate"])
    median = reals[len(reals) // 2]
    print(line("median real run", median, per_request))
    print(f"{'median ratio to baseline':<34} {ratios[len(ratios) // 2]:>10.2f}   (each: "
          + ", ".join(f"{r:.2f}" for r in ratios) + ")")  # fmt: skip
    return median


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def line(name: str, result: dict[str, Any], per_request: int = 1) -> str:
    p = result["p"]
    rate = result["rate"] * per_request
    return (
        f"{name:<34} {rate:>10,.0f}/s   p50 {p.get('50', 0):6.1f} ms   p90 {p.get('90', 0):6.1f} ms"
        f"   p99 {p.get('99', 0):6.1f} ms   {result['statuses']}"
        + (f"  socket errors: {result['socket_errors']}" if result["socket_errors"] else "")
    )


async def run(
    seconds: int,
    connections: int,
    threads: int,
    workers: int,
    batch: int,
    ingest_only: bool,
    pairs: int,
    py_spy: Path | None = None,
    singles_only: bool = False,
) -> int:
    wrk = ensure_wrk()
    check_signature_scheme()
    root = state_dir() / "bench" / f"ingest-{uuid.uuid4().hex[:6]}"
    with scratch_servers(root) as (postgres, kafka):
        system: ChaosSystem | None = None
        lone: ServiceProcess | None = None
        try:
            await create_topics(kafka.bootstrap, topics.ALL_TOPICS)
            postgres.create_database("bench")
            env = {
                "ANBEFAL_ENV_FILE": str(root / "no-env-file"),
                "ANBEFAL_KAFKA_BOOTSTRAP": kafka.bootstrap,
                "ANBEFAL_DATABASE_URL": postgres.url("bench"),
                "ANBEFAL_JWT_SECRET": TEST_JWT_SECRET,
                "ANBEFAL_DATA_KEYS": TEST_DATA_KEYS,
                "ANBEFAL_UNSUBSCRIBE_KEYS": TEST_UNSUBSCRIBE_KEYS,
                "ANBEFAL_GROUP_PREFIX": "bench",
                "ANBEFAL_LOG_LEVEL": "WARNING",
                "ANBEFAL_INGEST_BENCH_BASELINE": "true",
                # The benchmark measures the path, not the limiter.
                "ANBEFAL_INGEST_TENANT_RATE_PER_S": "1000000",
                "ANBEFAL_INGEST_TENANT_BURST": "1000000",
                "ANBEFAL_INGEST_WORKERS": str(workers),
                "PATH": os.environ["PATH"],
            }
            if ingest_only:
                # Ingest alone: what the endpoint costs without the consumers competing for CPU.
                ingest = ServiceProcess("ingest", env, root / "logs").start()
                await ingest.wait_ready()
                lone = ingest
            else:
                system = ChaosSystem(root, env)
                await system.start()
                ingest = system.processes["ingest"]
            services = {"ingest": ingest} if system is None else system.processes
            roots = {name: p.process.pid for name, p in services.items() if p.process is not None}
            assert kafka.process is not None
            roots["kafka"] = kafka.process.pid
            roots["postgres"] = int((postgres.data_dir / "postmaster.pid").read_text().split()[0])
            meter = CpuMeter(roots)
            admin = issue_token(TEST_JWT_SECRET, tenant=TENANT, role="admin", sub="bench")
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {admin}"}) as client:
                r = await client.put(
                    f"{ingest.url}/v1/tenants/{TENANT}/sources/typeform",
                    json={"tool": "typeform", "secret": SECRET, "fields": {"score": "nps"}},
                )
                r.raise_for_status()
            run_id = uuid.uuid4().hex[:6]
            count = max(20_000, seconds * 6_000)
            singles = [root / f"singles-{k}.tsv" for k in range(pairs)]
            print(f"preparing {pairs} x {count:,} signed Typeform deliveries ...", file=sys.stderr)
            for k, path in enumerate(singles):
                prepare_singles(path, count, f"{run_id}-{k}")  # each pair sends answers of its own
            singles_lua, batch_lua = root / "singles.lua", root / "batch.lua"
            singles_lua.write_text(SINGLES_LUA)
            batch_lua.write_text(BATCH_LUA)
            token = issue_token(TEST_JWT_SECRET, tenant=TENANT, role="ingest", sub="bench")
            baseline_url = f"{ingest.url}/v1/bench/baseline"
            webhook_url = f"{ingest.url}/v1/webhooks/{TENANT}/typeform"
            batch_url = f"{ingest.url}/v1/tenants/{TENANT}/responses"
            wrk_args = {"seconds": seconds, "connections": connections, "threads": threads}

            mode = "ingest alone" if ingest_only else "the whole pipeline running"
            print(
                f"== signed single webhooks ({connections} connections, {seconds} s each, {mode}; "
                f"{pairs} baseline/real pairs, interleaved)"
            )
            single_pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
            cpu_ratios: list[float] = []
            for k in range(pairs):
                args = [str(singles[k]), str(threads)]
                cpu_before = meter.snapshot()
                base = run_wrk(wrk, baseline_url, singles_lua, args, **wrk_args)
                base_cpu = per_request_us(cpu_before, meter.snapshot(), base["statuses"]["202"])
                cpu_before = meter.snapshot()
                if py_spy is not None:
                    spy = PySpy(roots["ingest"], py_spy.with_suffix(f".{k + 1}.txt"))
                    with spy:
                        real = run_wrk(wrk, webhook_url, singles_lua, args, **wrk_args)
                else:
                    real = run_wrk(wrk, webhook_url, singles_lua, args, **wrk_args)
                acked = real["statuses"].get("202", 0)
                cpu_after = meter.snapshot()
                print(line(f"[{k + 1}] raw baseline (read body, 202)", base))
                print(line(f"[{k + 1}] signed Typeform webhook", real))
                print(cpu_line(cpu_before, cpu_after, acked))
                real_cpu = per_request_us(cpu_before, cpu_after, acked)
                # Ingest's own CPU per request, bare route ÷ webhook: what the throughput ratio
                # would be on cores of its own (steadier than the rates on a shared machine).
                cpu_ratios.append(base_cpu["ingest"] / real_cpu["ingest"])
                print(
                    f"{'ingest CPU µs/request, bare route':<34} {base_cpu['ingest']:>10,.0f}"
                    f"   (ratio to the webhook's {cpu_ratios[-1]:.2f})"
                )
                if py_spy is not None:
                    print("\n".join(spy.profile().lines(real_cpu["ingest"])))
                single_pairs.append((base, real))
            signed_single = report_pairs(single_pairs, 1)
            cpu_ratios.sort()
            print(
                f"{'median CPU ratio (ingest)':<34} {cpu_ratios[len(cpu_ratios) // 2]:>10.2f}"
                "   (each: " + ", ".join(f"{r:.2f}" for r in cpu_ratios) + ")"
            )

            batch_pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
            real_batch: dict[str, Any] | None = None
            if not singles_only:
                # Answered a minute ago: routed downstream as live answers are (not too old).
                fresh = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
                batch_conns = max(threads, connections // 8)
                batch_wrk = {**wrk_args, "connections": batch_conns}
                print(f"== batches of {batch} answers ({batch_conns} connections)")
                for k in range(pairs):
                    base = run_wrk(
                        wrk,
                        baseline_url,
                        batch_lua,
                        [token, str(batch), f"{run_id}b{k}", fresh],
                        **batch_wrk,
                    )
                    cpu_before = meter.snapshot()
                    real = run_wrk(
                        wrk,
                        batch_url,
                        batch_lua,
                        [token, str(batch), f"{run_id}r{k}", fresh],
                        **batch_wrk,
                    )
                    answers = real["statuses"].get("202", 0) * batch
                    cpu = cpu_line(cpu_before, meter.snapshot(), answers)
                    print(line(f"[{k + 1}] raw baseline (read body, 202)", base, batch))
                    print(line(f"[{k + 1}] generic API batch (answers/s)", real, batch))
                    print(cpu)
                    batch_pairs.append((base, real))
                real_batch = report_pairs(batch_pairs, batch)

            # Every 202 must be in Kafka: count what the broker holds (only this run writes there).
            ends = await end_offsets(kafka.bootstrap, [topics.RESPONSES])
            in_kafka = sum(ends.values())
            acked = sum(real["statuses"].get("202", 0) for _, real in single_pairs) + sum(
                real["statuses"].get("202", 0) * batch for _, real in batch_pairs
            )
            print(f"== answers acknowledged {acked:,}, records in Kafka {in_kafka:,}")
            # The targets are judged on the median run.
            targets = {
                "signed webhooks >= 4,000/s": signed_single["rate"] >= 4000,
                "signed webhooks p99 <= 50 ms": signed_single["p"].get("99", 1e9) <= 50,
            }
            if real_batch is not None:
                targets["batch >= 40,000 answers/s"] = real_batch["rate"] * batch >= 40_000
            for name, met in targets.items():
                print(f"target {name:<30} {'met' if met else 'NOT met'}")
            print(json.dumps({"singles": single_pairs, "batch": batch_pairs}), file=sys.stderr)
            return 0 if in_kafka >= acked else 1
        finally:
            if system is not None:
                system.stop()
            if lone is not None:
                lone.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (singles)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=1, help="ingest worker processes")
    parser.add_argument("--batch", type=int, default=500, help="answers per batch request")
    parser.add_argument(
        "--ingest-only", action="store_true", help="no consumers: ingest's own cost"
    )
    parser.add_argument(
        "--pairs", type=int, default=3, help="interleaved baseline/real pairs (median reported)"
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="FILE",
        help="record ingest with py-spy during each signed run (FILE.N.txt, collapsed stacks) "
        "and print its costliest functions in µs per request",
    )
    parser.add_argument(
        "--singles-only", action="store_true", help="signed single webhooks only, no batches"
    )
    args = parser.parse_args()
    raise SystemExit(
        asyncio.run(
            run(
                args.seconds,
                args.connections,
                args.threads,
                args.workers,
                args.batch,
                args.ingest_only,
                args.pairs,
                args.py_spy,
                args.singles_only,
            )
        )
    )


if __name__ == "__main__":
    main()
