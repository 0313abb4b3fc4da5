"""The audit trail: who changed a tenant's rules, sources, users and settings, and who exported
or erased whose data (docs/architecture.md, "The audit trail").

A service records an entry with `record(...)` in the transaction that makes the change: the
entry goes into that service's outbox, so it exists if and only if the change committed, and
the relay carries it on `anbefal.audit.v1` to the one store that serves
`GET /v1/tenants/{tenant}/audit` (notify).

An entry says who (`actor`), what (`action`, `target`) and what changed (`detail`). The detail
never holds a secret (a key naming one is refused) nor a respondent's contact data: an erasure
names the respondent's id, not their email.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import topics
from anbefal.common.auth import Principal
from anbefal.common.events import Actor, AuditEntry
from anbefal.common.outbox import OutboxEvent, enqueue


class Kind(StrEnum):
    """The first part of an entry's action (`rules.changed`): what the API filters by."""

    RULES = "rules"  # the rule set
    OWNERS = "owners"  # accounts, segment directors, people (closed_loop's uploads)
    SOURCE = "source"  # a survey-tool source (ingest)
    USER = "user"  # a staff login (notify)
    TENANT = "tenant"  # the tenant's settings
    ERASURE = "erasure"  # a person's data erased
    EXPORT = "export"  # a person's data exported
    THEMES = "themes"  # a tenant's named themes (scoring)


KINDS: Final = tuple(k.value for k in Kind)
# The role of a change made with the command line, which needs no token.
CLI_ROLE: Final = "cli"

_ACTION = re.compile(r"^([a-z]+)\.[a-z_]+$")
_SECRET_KEY = re.compile(r"secret|password|token|api_key|webhook_url", re.IGNORECASE)


def actor_of(principal: Principal) -> Actor:
    """The actor of a change made through an API: the token's subject and role."""
    return Actor(sub=principal.sub, role=str(principal.role))


def entry(
    *,
    tenant: str,
    actor: Principal | Actor,
    action: str,
    target: str,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> AuditEntry:
    """A checked entry: ValueError for an unknown kind, or a value other than a bool under a
    detail key that names a secret (`secret_changed: true` is fine, `secret: "..."` is not)."""
    match = _ACTION.match(action)
    if match is None or match.group(1) not in KINDS:
        raise ValueError(f"audit action {action!r} is not `<kind>.<verb>` of {', '.join(KINDS)}")
    _refuse_secrets(detail or {})
    return AuditEntry(
        event_id=event_id or uuid.uuid4(),
        tenant=tenant,
        at=at or datetime.now(UTC),
        actor=actor_of(actor) if isinstance(actor, Principal) else actor,
        action=action,
        target=target,
        detail=dict(detail or {}),
    )


async def record(
    session: AsyncSession,
    outbox: Table,
    *,
    tenant: str,
    actor: Principal | Actor,
    action: str,
    target: str,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Record a change in the caller's transaction, through the service's `outbox` table:
    rolled back with the change, published with it.

    `action` is `<kind>.<verb>` with a kind from `KINDS` (`rules.changed`, `source.deleted`,
    `user.added`, `erasure.requested`, `export.made`); `target` names what changed
    (`source:typeform-nps`, `user:ida@acme.example`, `respondent:c-42`); `detail` is JSON
    saying what changed (a version before and after, a role from and to), no secrets and no
    respondent's contact data. Returns the entry as recorded."""
    made = entry(tenant=tenant, actor=actor, action=action, target=target, detail=detail)
    await enqueue(
        session,
        outbox,
        topics.AUDIT,
        [OutboxEvent(made.event_id, tenant, made.key, made.to_bytes())],
    )
    return made


def redacted(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with each value under a key that names a secret replaced by whether it is set."""
    return {
        key: value is not None if _SECRET_KEY.search(key) else value
        for key, value in values.items()
    }


def _refuse_secrets(detail: Mapping[str, Any], *, secret: bool = False) -> None:
    """Under a key that names a secret only whether it is set or changed may be said (a bool)."""
    for key, value in detail.items():
        named = secret or bool(_SECRET_KEY.search(str(key)))
        if isinstance(value, Mapping):
            _refuse_secrets(value, secret=named)
        elif named and not isinstance(value, bool | None):
            raise ValueError(f"audit detail {key!r} names a secret: say only whether it changed")
