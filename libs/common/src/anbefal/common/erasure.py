"""Erasing one person's data everywhere (docs/architecture.md, "Erasure and export").

ingest owns the requests and their receipts. A request travels on `anbefal.erasures.v1`; every
service subscribes with `erasure_handler(...)`, which runs the service's own anonymiser in the
consumer's transaction and reports how many rows it changed, through the service's outbox, on
`anbefal.erasure-reports.v1`. The report's id is one per (erasure, service), so a redelivered
request changes nothing and reports nothing twice.

The person is named by a `Subject` (a respondent id, an email, or both), sealed with the
deployment keyring on the topic. Where a row must stay findable or recognisable without the
address (an unsubscribed address after an erasure, the answers scoring keeps), it holds a keyed
hash (`identity_hashes`) instead: HMAC-SHA256 under a key derived from each deployment key, so a
reader of the table cannot test guessed addresses, and a rotated keyring still finds old rows
(`anbefal.common.identity`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import topics
from anbefal.common.crypto import Keyring
from anbefal.common.events import ErasureReported, ErasureRequested, erasure_report_id
from anbefal.common.identity import identity_hash, identity_hashes, normalise_email
from anbefal.common.kafka import HandlerContext
from anbefal.common.outbox import OutboxEvent, enqueue

# What an erased respondent's key becomes, followed by the row's own id: rows of one erased
# person no longer link to each other, and never to a later answer with the same key.
ERASED_PREFIX = "erased:"


def erased_key(row_id: object) -> str:
    return f"{ERASED_PREFIX}{row_id}"


def scrubbed(document: dict[str, Any], key: str) -> dict[str, Any]:
    """An answer or action document (`SurveyResponse`, `Action`, a task's columns) without its
    respondent's identity: the respondent is only `key` and their locale, and the free text
    (the comment, the comments of attached answers) is gone. Scores, times and segments stay."""
    out = dict(document)
    respondent = out.get("respondent") or {}
    out["respondent"] = {"key": key, "locale": respondent.get("locale")}
    if "comment" in out:
        out["comment"] = None
    if out.get("attached"):
        out["attached"] = [{**a, "comment": None} for a in out["attached"]]
    return out


@dataclass(frozen=True)
class Subject:
    """Whom an erasure or export is about: rows with this respondent key, or this address."""

    respondent_id: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        if not (self.respondent_id or self.email):
            raise ValueError("a subject needs a respondent id or an email")
        if self.email is not None:
            object.__setattr__(self, "email", normalise_email(self.email))

    def seal(self, keyring: Keyring, tenant: str, erasure_id: uuid.UUID) -> str:
        plain = json.dumps({"respondent_id": self.respondent_id, "email": self.email})
        return keyring.seal_text(plain, context=_context(tenant, erasure_id))

    @classmethod
    def opened(cls, keyring: Keyring, request: ErasureRequested) -> Subject:
        """The subject of a request (crypto.Undecryptable when this keyring cannot open it)."""
        plain = keyring.open_text(
            request.subject, context=_context(request.tenant, request.erasure_id)
        )
        fields: dict[str, Any] = json.loads(plain)
        return cls(respondent_id=fields.get("respondent_id"), email=fields.get("email"))


def _context(tenant: str, erasure_id: uuid.UUID) -> str:
    return f"erasure\x1f{tenant}\x1f{erasure_id}"


def no_keyring() -> Keyring:
    """The keyring of a consumer built without one (handler tests): an erasure fails clearly."""
    raise RuntimeError("no keyring given to open erasure requests (ANBEFAL_DATA_KEYS)")


# A service's anonymiser: erase or anonymise what it holds of the subject in the tenant, in the
# caller's transaction (the keyring finds keyed hashes); returns how many rows it changed.
Anonymiser = Callable[[AsyncSession, str, Subject, Keyring], Awaitable[int]]


def erasure_handler(
    service: str,
    keyring: Callable[[], Keyring],
    anonymise: Anonymiser,
    outbox: Table,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Callable[[HandlerContext[Any], Sequence[ErasureRequested]], Awaitable[None]]:
    """The `ErasureRequested` handler of one service: anonymise, then report through `outbox`.

    `keyring` is called when a request arrives, so a service without ANBEFAL_DATA_KEYS starts
    and fails (dead letter, with the settings' clear message) only on an erasure."""

    async def handle(ctx: HandlerContext[Any], requests: Sequence[ErasureRequested]) -> None:
        ring = keyring()
        reports: list[OutboxEvent] = []
        for request in {r.erasure_id: r for r in requests}.values():
            subject = Subject.opened(ring, request)
            rows = await anonymise(ctx.session, request.tenant, subject, ring)
            report = ErasureReported(
                event_id=erasure_report_id(request.erasure_id, service),
                erasure_id=request.erasure_id,
                tenant=request.tenant,
                service=service,
                rows=rows,
                finished_at=clock(),
            )
            reports.append(
                OutboxEvent(report.event_id, report.tenant, report.key, report.to_bytes())
            )
        await enqueue(ctx.session, outbox, topics.ERASURE_REPORTS, reports)

    return handle


__all__ = [
    "ERASED_PREFIX",
    "Anonymiser",
    "Subject",
    "erased_key",
    "erasure_handler",
    "identity_hash",
    "identity_hashes",
    "no_keyring",
    "normalise_email",
    "scrubbed",
]
