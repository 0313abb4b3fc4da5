"""Signed task links: one task, for one person without a staff login.

A salesperson or director who owns a task but has no login gets a link to that one task in
their mail: they can read it, claim it and complete it with an outcome and a note, and nothing
else. The token is sealed (AES-256-GCM) with the unsubscribe links' keyring under a context of
its own, so neither kind of token opens as the other, and it names the tenant, the task, the
address it was sent to and why: `assignee` (the task's owner; the link stops working when the
task is given to someone else) or `lead` (an escalation to the tenant's director or next level).
It stops working when the task closes (done or cancelled): no expiry to configure, and a link in
an old mail opens nothing once the work is done.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Literal

from anbefal.common.crypto import Keyring, Undecryptable
from anbefal.notify.models import Task
from anbefal.notify.tasks.lifecycle import ACTIVE

_CONTEXT = b"anbefal:task-link"
LinkKind = Literal["assignee", "lead"]


@dataclass(frozen=True)
class TaskLink:
    tenant: str
    task_id: uuid.UUID
    email: str
    kind: LinkKind


def sign(keyring: Keyring, link: TaskLink) -> str:
    claims = {"t": link.tenant, "k": str(link.task_id), "e": link.email.lower(), "w": link.kind}
    return keyring.seal(json.dumps(claims, separators=(",", ":")).encode(), context=_CONTEXT)


def read(keyring: Keyring, token: str) -> TaskLink | None:
    """The link a token names, or None when it is forged, altered or not a task link."""
    try:
        claims = json.loads(keyring.open(token, context=_CONTEXT))
        kind = claims["w"]
        if kind not in ("assignee", "lead"):
            return None
        return TaskLink(str(claims["t"]), uuid.UUID(claims["k"]), str(claims["e"]), kind)
    except (Undecryptable, ValueError, KeyError, TypeError):
        return None


def opens(link: TaskLink, task: Task) -> bool:
    """Whether `link` still opens `task`: the task is still in the queue and, for an owner's
    link, still theirs."""
    if (task.tenant, task.id) != (link.tenant, link.task_id) or task.status not in ACTIVE:
        return False
    return link.kind == "lead" or (task.assignee or "").lower() == link.email


def url(public_url: str, keyring: Keyring, link: TaskLink) -> str:
    return f"{public_url.rstrip('/')}/t/{sign(keyring, link)}"
