"""The audit store: entries in from every service (and the tenant settings events, which carry
their actor), pages of them out, newest first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import audit
from anbefal.common.events import ANBEFAL_NAMESPACE, Actor, AuditEntry, TenantSettings
from anbefal.common.kafka import HandlerContext
from anbefal.notify import paging
from anbefal.notify.audit import repository
from anbefal.notify.models import AuditRow

# Settings published without `changed_by` (an older command line): the actor is not known.
UNKNOWN_ACTOR = Actor(sub="unknown", role=audit.CLI_ROLE)
# Not settings: the event's own bookkeeping.
_NOT_SETTINGS = {"schema_version", "tenant", "updated_at", "changed_by"}


async def store(ctx: HandlerContext[Any], events: Sequence[AuditEntry]) -> None:
    await repository.save(ctx.session, events)


async def settings_changed(ctx: HandlerContext[Any], events: Sequence[TenantSettings]) -> None:
    """An entry per settings event, saying which settings changed from what to what."""
    latest: dict[str, dict[str, Any] | None] = {}
    entries = []
    for settings in events:
        if settings.tenant not in latest:
            detail = await repository.latest_settings(ctx.session, settings.tenant)
            latest[settings.tenant] = detail.get("settings") if detail else None
        entry = settings_entry(settings, latest[settings.tenant])
        latest[settings.tenant] = entry.detail["settings"]
        entries.append(entry)
    await repository.save(ctx.session, entries)


def settings_entry(settings: TenantSettings, before: dict[str, Any] | None) -> AuditEntry:
    """The entry for `settings` after `before` (the last settings recorded, None: a new
    tenant). Its id is derived from the event, so reading the compacted topic again stores it
    once; secrets (the chat webhook URL) are recorded only as set or not."""
    after = audit.redacted(settings.model_dump(mode="json", exclude=_NOT_SETTINGS))
    changed = {
        name: {"from": (before or {}).get(name), "to": value}
        for name, value in after.items()
        if before is None or before.get(name) != value
    }
    at = (
        settings.updated_at
        if settings.updated_at.tzinfo
        else settings.updated_at.replace(tzinfo=UTC)
    )
    return audit.entry(
        tenant=settings.tenant,
        actor=settings.changed_by or UNKNOWN_ACTOR,
        action="tenant.created" if before is None else "tenant.changed",
        target="settings",
        detail={"changed": changed, "settings": after},
        at=at,
        event_id=uuid.uuid5(
            ANBEFAL_NAMESPACE, f"tenant-settings\x1f{settings.tenant}\x1f{at.isoformat()}"
        ),
    )


@dataclass(frozen=True)
class Page:
    entries: list[AuditRow]
    next_cursor: str | None


async def entries(
    session: AsyncSession,
    tenant: str,
    *,
    kind: audit.Kind | None,
    start: datetime | None,
    end: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page:
    rows = await repository.page(
        session, tenant, kind=kind, start=start, end=end,
        before=_decode(cursor) if cursor else None, limit=limit + 1,
    )  # fmt: skip
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _encode(rows[-1]) if more else None)


def _encode(row: AuditRow) -> str:
    return paging.encode([row.at.isoformat(), row.event_id])


def _decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    at, event_id = paging.decode(cursor, 2)
    try:
        return datetime.fromisoformat(at), uuid.UUID(event_id)
    except (ValueError, TypeError) as exc:
        raise paging.invalid_cursor() from exc
