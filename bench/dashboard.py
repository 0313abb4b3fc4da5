"""The dashboard page over 10 M answers, beside the scores API it is built from.

Starts its own PostgreSQL and Kafka, seeds scoring's daily buckets with 10 M answers (50
tenants x 365 days x 10 departments x 20 stores, as `bench/scoring.py` does) and 200,000
answers with Danish comments for the tenant the page shows (the themes and the latest comments
read those), then runs scoring and notify and logs a director in. It then times, one after the
other for the same tenant:

- GET /dashboard (the whole page: NPS and eNPS with their change, two trend charts drawn on the
  server, the segment table, themes, latest comments, closed-loop performance), and
- GET /v1/tenants/{t}/scores for the page's segment table (one of the page's API calls),

and prints p50/p99 of each and the ratio page / API: how much the page costs over one of its
own reads on this machine now. The load average is printed: on a shared machine every figure
moves with it.

    uv run python bench/dashboard.py                   # 10 M seeded, 200 requests each
    uv run python bench/dashboard.py --requests 50     # a quicker look
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from anbefal.cli.users import add as add_staff
from anbefal.common import topics
from anbefal.common.auth import issue_token
from anbefal.common.migrations import upgrade_all
from anbefal.devstack.benchdata import SEED_10M, percentile
from anbefal.devstack.benchsystem import service_env
from anbefal.devstack.kafka import create_topics
from anbefal.devstack.paths import state_dir
from anbefal.devstack.scratch import scratch_servers
from anbefal.devstack.testing import (
    TEST_JWT_SECRET,
    ServiceProcess,
    asyncpg_dsn,
)

ZONE = ZoneInfo("Europe/Copenhagen")
TENANT = "bench-0"
DIRECTOR = "director@bench.example"
PASSWORD = "correct horse battery"
COMMENTS = [
    "Ventetiden på support var alt for lang",
    "Prisen er for høj i forhold til konkurrenterne",
    "Fantastisk service fra Mette i kundeservice",
    "Leveringen kom to dage for sent",
    "Produktet virker godt, men fakturaen var forkert",
    "Min kontaktperson svarer altid hurtigt",
    "Kvaliteten er faldet det seneste år",
    "Nem bestilling og hurtig levering",
]
SEED_ANSWERS = """
INSERT INTO scoring.answers (event_id, tenant, version, kind, score, day, answered_at,
                             segments, comment, respondent_key, respondent_name)
SELECT gen_random_uuid(), $2, 1, 'nps', (i * 7) % 11, $1::date - (i % 365),
       ($1::date - (i % 365))::timestamptz + interval '10 hours',
       jsonb_build_object('department', 'd' || (i % 10), 'store', 's' || (i % 20),
                          'country', 'c' || (i % 20 % 5)),
       ($3::text[])[1 + i % array_length($3::text[], 1)], 'c-' || i, 'Kunde ' || i
FROM generate_series(1, 200000) AS i
"""


async def seed(url: str) -> float:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        started = time.perf_counter()
        today = datetime.now(ZONE).date()
        await conn.execute(SEED_10M, today)
        await conn.execute(SEED_ANSWERS, today, TENANT, COMMENTS)
        await conn.execute("VACUUM ANALYZE scoring.daily_buckets")
        await conn.execute("VACUUM ANALYZE scoring.answers")
        return time.perf_counter() - started
    finally:
        await conn.close()


async def log_in(client: httpx.AsyncClient, base: str) -> None:
    form = await client.get(f"{base}/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError("no login form")
    fields = {"tenant": TENANT, "email": DIRECTOR, "password": PASSWORD, "csrf": token[1]}
    r = await client.post(f"{base}/login", data=fields, headers={"Origin": base})
    if r.status_code != 303:
        raise RuntimeError(f"login refused: {r.status_code}")


async def timed(client: httpx.AsyncClient, url: str, **kw: object) -> float:
    started = time.perf_counter()
    r = await client.get(url, **kw)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    if r.status_code != 200:
        raise RuntimeError(f"{url}: {r.status_code} {r.text[:300]}")
    return elapsed


async def run(requests: int) -> int:
    root = state_dir() / "bench" / f"dashboard-{uuid.uuid4().hex[:6]}"
    with scratch_servers(root) as (postgres, kafka):
        processes: list[ServiceProcess] = []
        try:
            await create_topics(kafka.bootstrap, topics.ALL_TOPICS)
            postgres.create_database("bench")
            url = postgres.url("bench")
            await asyncio.to_thread(upgrade_all, url)
            seed_s = await seed(url)
            print(f"seeded               10 M answers as buckets + 200,000 with comments in "
                  f"{seed_s:.0f} s")  # fmt: skip
            await add_staff(url, tenant=TENANT, email=DIRECTOR, name="Dir", role="director",
                            password=PASSWORD, locale="da")  # fmt: skip
            env = service_env(root, kafka.bootstrap, url, "bench")
            logs = Path(root / "logs")
            scoring = ServiceProcess("scoring", env, logs).start()
            processes.append(scoring)
            notify = ServiceProcess("notify", {**env, "ANBEFAL_SCORING_URL": scoring.url}, logs)
            notify.env["ANBEFAL_PUBLIC_URL"] = notify.url
            processes.append(notify.start())
            await asyncio.gather(scoring.wait_ready(), notify.wait_ready())

            token = issue_token(TEST_JWT_SECRET, tenant=TENANT, role="director", sub="bench")
            api_url = f"{scoring.url}/v1/tenants/{TENANT}/scores"
            table = {"kind": "nps", "window": "30d", "dimension": "department", "sort": "nps"}
            page: list[float] = []
            api: list[float] = []
            async with (
                httpx.AsyncClient(timeout=60) as browser,
                httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as reader,
            ):
                await log_in(browser, notify.url)
                warm = max(3, requests // 10)
                for i in range(requests + warm):
                    one_page = await timed(browser, f"{notify.url}/dashboard")
                    one_api = await timed(reader, api_url, params=table)
                    if i >= warm:  # the first tenth warms caches, connections, fonts
                        page.append(one_page)
                        api.append(one_api)
            ms = 1000
            p50, p99 = percentile(page, 0.5), percentile(page, 0.99)
            a50, a99 = percentile(api, 0.5), percentile(api, 0.99)
            print(f"dashboard page       p50 {p50 * ms:.0f} ms  p99 {p99 * ms:.0f} ms  "
                  f"over {len(page)} requests")  # fmt: skip
            print(f"scores API (table)   p50 {a50 * ms:.1f} ms  p99 {a99 * ms:.1f} ms")
            print(f"ratio page / API     p50 {p50 / a50:.1f}  p99 {p99 / a99:.1f}")
            print(f"load average         {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
            return 0
        finally:
            for process in processes:
                process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=200, help="timed page loads (and API calls)"
    )
    raise SystemExit(asyncio.run(run(parser.parse_args().requests)))


if __name__ == "__main__":
    main()
