"""Data the benchmarks share: 10 M answers seeded as scoring's daily buckets, and percentiles."""

from __future__ import annotations

# 50 tenants (`bench-0` ... `bench-49`) x 365 days up to $1 x 10 departments x 20 stores
# (5 countries), 2 to 4 answers per cell: about 10 M answers, in one statement.
SEED_10M = """
INSERT INTO scoring.daily_buckets
SELECT 'bench-' || t, 'nps', x.dimension, x.value, c.day,
       sum(c.p), sum(c.n - c.p - c.d), sum(c.d)
FROM (
    SELECT t, day, dept, store, n, p, (h / 7) % (n - p + 1) AS d
    FROM (
        SELECT t, g.day::date AS day, dept, store, 2 + h % 3 AS n, (h / 3) % (3 + h % 3) AS p, h
        FROM generate_series(0, 49) AS t,
             generate_series($1::date - 364, $1::date, interval '1 day') AS g(day),
             generate_series(0, 9) AS dept,
             generate_series(0, 19) AS store,
             LATERAL (SELECT abs(hashint4(t * 1000003 + dept * 7919 + store * 104729
                                          + (g.day::date - $1::date))::bigint) AS h) AS hash
    ) AS cell
) AS c
CROSS JOIN LATERAL (VALUES ('all', 'all'), ('department', 'd' || c.dept),
                           ('store', 's' || c.store), ('country', 'c' || c.store % 5))
    AS x(dimension, value)
GROUP BY 1, 2, 3, 4, 5
"""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
