"""The fault-injection harness for tests/faults and bench/: a system of four service processes
(`system`), a generator that posts answers and records each request's outcome (`generator`), and
checkers that run after quiescence (`checks`). Each check appends its row to
`tests/test-artifacts/chaos.jsonl` (`table`); `make chaos` runs the fault suite at full scale and
prints those rows as a table (`python -m anbefal.devstack.chaos table`).

Scale: ANBEFAL_CHAOS_SCALE=small (default, the suite) or full. ANBEFAL_CHAOS_BROKER_DOWN_S sets
how long the broker stays down in the sender-retry fault (default 8 s small, 60 s full).
"""

from anbefal.devstack.chaos.checks import BUCKET_MISMATCHES, Verdict, check, judge
from anbefal.devstack.chaos.generator import (
    Attempt,
    Generator,
    Outcome,
    TimedGenerator,
    TypeformGenerator,
    during,
)
from anbefal.devstack.chaos.scale import FULL, scale
from anbefal.devstack.chaos.system import (
    SERVICES,
    ChaosSystem,
    own_broker,
    own_cluster,
    own_postgres,
)
from anbefal.devstack.chaos.table import chaos_log, main, record_row, render_table

__all__ = [
    "BUCKET_MISMATCHES",
    "FULL",
    "SERVICES",
    "Attempt",
    "ChaosSystem",
    "Generator",
    "Outcome",
    "TimedGenerator",
    "TypeformGenerator",
    "Verdict",
    "chaos_log",
    "check",
    "during",
    "judge",
    "main",
    "own_broker",
    "own_cluster",
    "own_postgres",
    "record_row",
    "render_table",
    "scale",
]
