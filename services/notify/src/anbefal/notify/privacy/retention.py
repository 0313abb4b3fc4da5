"""What notify forgets, and when (common/retention.py runs these daily):

- a task closed (done or cancelled) more than the tenant's `tasks_retention_days` after it was
  made: the respondent becomes a key of the task's own, its comments go, and so do the text of
  its notes and of its chat posts; status, outcome, times, score and segments stay (the queue's
  history and the SLA figures);
- mail older than `emails_retention_days` that has left the outbox (sent, failed, suppressed or
  cancelled): address, subject, body and unsubscribe link go; template, status and times stay.

Open and claimed tasks are never touched: someone is still to call.
"""

from __future__ import annotations

from collections.abc import Mapping

from anbefal.common.retention import Anonymiser, Expiry, each, is_erased
from anbefal.notify.models import Email, Task, Tenant
from anbefal.notify.privacy.erasure import ERASED_TEXT, erase_email, erase_tasks
from anbefal.notify.tasks.lifecycle import ACTIVE

TASKS = Expiry(
    Task, Tenant, "tasks_retention_days", Task.created_at,
    (Task.status.not_in(ACTIVE), ~is_erased(Task.respondent["key"].astext)), erase_tasks,
)  # fmt: skip
EMAILS = Expiry(
    Email, Tenant, "emails_retention_days", Email.created_at,
    (Email.status != "pending", Email.body != ERASED_TEXT), each(erase_email),
)  # fmt: skip


def anonymisers() -> Mapping[str, Anonymiser]:
    return {"tasks": TASKS, "emails": EMAILS}
