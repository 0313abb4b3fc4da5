"""The checkers, run after quiescence: nothing acknowledged lost, nothing counted twice, one
task per decided action, at most one email per action."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from anbefal.common.events import TASK_ACTIONS
from anbefal.common.nps import DETRACTORS, PASSIVES, PROMOTERS
from anbefal.devstack.chaos.generator import Generator
from anbefal.devstack.chaos.scale import FULL
from anbefal.devstack.chaos.system import ChaosSystem
from anbefal.devstack.chaos.table import record_row
from anbefal.devstack.mailsink import read_messages

BUCKET_MISMATCHES = f"""
WITH recomputed AS (
    SELECT 'all' AS dimension, 'all' AS value, day, score FROM scoring.answers WHERE tenant = $1
    UNION ALL
    SELECT s.key, s.value, a.day, a.score
    FROM scoring.answers a, jsonb_each_text(a.segments) s WHERE a.tenant = $1
), expected AS (
    SELECT dimension, value, day,
           count(*) FILTER (WHERE score BETWEEN {PROMOTERS.low} AND {PROMOTERS.high}) AS p,
           count(*) FILTER (WHERE score BETWEEN {PASSIVES.low} AND {PASSIVES.high}) AS pa,
           count(*) FILTER (WHERE score BETWEEN {DETRACTORS.low} AND {DETRACTORS.high}) AS d
    FROM recomputed GROUP BY dimension, value, day
), actual AS (
    SELECT dimension, value, day, promoters AS p, passives AS pa, detractors AS d
    FROM scoring.daily_buckets WHERE tenant = $1 AND kind = 'nps'
      AND promoters + passives + detractors > 0
)
(SELECT * FROM expected EXCEPT SELECT * FROM actual)
UNION ALL
(SELECT * FROM actual EXCEPT SELECT * FROM expected)
"""


@dataclass
class Verdict:
    fault: str
    sent: int
    acknowledged: int
    stored: int
    duplicates: int
    lost: int
    problems: list[str]

    def row(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "sent": self.sent,
            "acknowledged": self.acknowledged,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "lost": self.lost,
            "ok": not self.problems,
        }


async def check(
    system: ChaosSystem, generator: Generator, fault: str, details: dict[str, Any] | None = None
) -> Verdict:
    """The checkers, after quiescence; appends the verdict to chaos.jsonl, with the
    fault's own figures (`details`) beside it."""
    verdict, row = await judge(system, generator, fault)
    row.update(details or {})
    record_row(row)
    return verdict


async def judge(
    system: ChaosSystem, generator: Generator, fault: str
) -> tuple[Verdict, dict[str, Any]]:
    """The checkers, after quiescence: the verdict, and its row for the chaos log."""
    tenant = generator.tenant
    await system.wait_quiescent()
    problems: list[str] = []
    ids = {generator.event_id(r): r for r in generator.attempted}
    stored_rows = await system.fetch(
        "SELECT event_id FROM scoring.answers WHERE tenant = $1", tenant
    )
    stored = {ids.get(row["event_id"], f"phantom:{row['event_id']}") for row in stored_rows}
    lost = generator.acknowledged - stored
    phantoms = {s for s in stored if s.startswith("phantom:")}
    if lost:
        problems.append(f"{len(lost)} acknowledged answers not stored: {sorted(lost)[:10]}")
    if phantoms:
        problems.append(f"stored answers nobody sent: {sorted(phantoms)[:10]}")

    mismatches = await system.fetch(BUCKET_MISMATCHES, tenant)
    if mismatches:
        problems.append(f"buckets differ from a recomputation: {[dict(r) for r in mismatches][:5]}")
    bucket_total = await system.fetch(
        "SELECT coalesce(sum(promoters + passives + detractors), 0) AS n "
        "FROM scoring.daily_buckets WHERE tenant = $1 AND dimension = 'all'",
        tenant,
    )
    double_counted = int(bucket_total[0]["n"]) - len(stored_rows)

    # Exactly one task per (answer, rule), and every decided action reached notify.
    duplicate_tasks = await system.fetch(
        "SELECT response_event_id, rule_id, count(*) AS n FROM notify.tasks WHERE tenant = $1 "
        "GROUP BY 1, 2 HAVING count(*) > 1",
        tenant,
    )
    if duplicate_tasks:
        problems.append(f"duplicate tasks: {[dict(r) for r in duplicate_tasks][:5]}")
    # Decided and published: a revision released into the outbox (which keeps a row only
    # until the relay sent it) is counted in `released_revision`.
    decided = await system.fetch(
        "SELECT action_id FROM closed_loop.actions"
        " WHERE tenant = $1 AND released_revision > 0 AND type = ANY($2::text[])",
        tenant,
        sorted(TASK_ACTIONS),
    )
    task_rows = await system.fetch("SELECT action_id FROM notify.tasks WHERE tenant = $1", tenant)
    task_actions = {row["action_id"] for row in decided}
    if task_actions != {row["action_id"] for row in task_rows}:
        problems.append(
            f"tasks differ from decided task actions: {len(task_actions)} decided, "
            f"{len(task_rows)} tasks"
        )

    # At most one email per action: one outbox row, one Message-ID (derived from the action
    # id), and nothing at the SMTP server that notify did not mark sent.
    email_rows = await system.fetch(
        "SELECT message_id, status FROM notify.emails WHERE tenant = $1", tenant
    )
    sent_ids = {row["message_id"] for row in email_rows if row["status"] == "sent"}
    message_ids = Counter(
        str(m["Message-ID"])
        for m in read_messages(system.mail_dir)
        if m["To"] and str(m["To"]).endswith("@example.com")
    )
    known = {row["message_id"] for row in email_rows}
    ours = {mid: n for mid, n in message_ids.items() if mid in known}
    unmarked = [mid for mid in ours if mid not in sent_ids]
    if unmarked:
        problems.append(f"{len(unmarked)} emails delivered but not marked sent")
    # The same Message-ID twice at the SMTP server: a crash between the relay's accept and the
    # `sent` mark (PostgreSQL gone, process killed) makes the worker send again. That is the
    # at-least-once residue of mail (docs/architecture.md §4); a receiving MTA can drop it by
    # Message-ID. Reported, not hidden; a second *different* email would be a bug.
    redelivered = sum(n - 1 for n in ours.values() if n > 1)

    duplicates = max(0, double_counted) + len(duplicate_tasks)
    if double_counted:
        problems.append(f"bucket total off by {double_counted}")
    verdict = Verdict(
        fault=fault,
        sent=len(generator.history),
        acknowledged=len(generator.acknowledged),
        stored=len(stored_rows),
        duplicates=duplicates,
        lost=len(lost),
        problems=problems,
    )
    row = verdict.row() | {
        "scale": "full" if FULL else "small",
        "tasks": len(task_rows),
        "task_actions": len(task_actions),
        "emails": sum(ours.values()),
        "email_redeliveries": redelivered,
    }
    return verdict, row
