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
reader of the table cannot test guessed addresses, and a rotated keyring still finds old rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import topics
from anbefal.common.crypto import Keyring
from anbefal.common.events import ErasureReported, ErasureRequested, erasure_report_id
from anbefal.common.kafka import HandlerContext
from anbefal.common.outbox import OutboxEvent, enqueue

Purpose = Literal["respondent", "email"]
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


def normalise_email(email: str) -> str:
    """The form every service compares addresses in (they are stored lower-cased)."""
    return email.strip().lower()


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


@lru_cache(maxsize=16)
def _hash_key(key: bytes) -> bytes:
    # A key of its own per deployment key: the HMAC never uses a key that also encrypts.
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"anbefal identity hash").derive(key)


def identity_hashes(keyring: Keyring, tenant: str, purpose: Purpose, value: str) -> list[str]:
    """`kid.hex` under every deployment key, the current key's first: store the first, match
    any. Tenant and purpose are hashed in, so equal values of two tenants do not link."""
    message = f"{tenant}\x1f{purpose}\x1f{value}".encode()
    kids = [keyring.current] + [k for k in keyring.keys if k != keyring.current]
    return [
        f"{kid}.{hmac.new(_hash_key(keyring.keys[kid]), message, hashlib.sha256).hexdigest()}"
        for kid in kids
    ]


def identity_hash(keyring: Keyring, tenant: str, purpose: Purpose, value: str) -> str:
    """The hash a row stores (under the current key)."""
    return identity_hashes(keyring, tenant, purpose, value)[0]


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
