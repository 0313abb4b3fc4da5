"""Sources' operations: the admin API's, and reading one as the adapters use it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import audit
from anbefal.common.auth import Principal
from anbefal.common.crypto import Keyring
from anbefal.common.errors import NotFound, Unprocessable
from anbefal.common.events import GENERIC_API
from anbefal.ingest.intake.gate import Intake
from anbefal.ingest.models import OUTBOX, SourceRow
from anbefal.ingest.sources import repository, secrets
from anbefal.ingest.sources.config import Source, SourceIn


@dataclass(frozen=True)
class Saved:
    row: SourceRow
    # A secret made for this save: shown once, in this answer, and never again.
    generated_secret: str | None


async def put(
    session: AsyncSession,
    intake: Intake,
    tenant: str,
    name: str,
    body: SourceIn,
    *,
    by: Principal,
) -> Saved:
    """Create or replace a source; this copy's cached configuration is dropped at once.

    Without a secret in the body, an existing source keeps its own and a new one gets a
    generated secret (unless its tool issues the secret itself)."""
    if name == GENERIC_API:
        raise Unprocessable(f"{GENERIC_API!r} names the generic API", code="reserved_name")
    secret, generated = body.secret, None
    current = await repository.load(session, intake.keyring, tenant, name)
    if secret is None:
        if current is not None:
            secret = current.secret
            if why := secrets.problem(body.tool, secret):
                raise Unprocessable(f"the current secret does not fit {body.tool}: {why}")
        else:
            secret = generated = secrets.generate(body.tool)
            if secret is None:
                raise Unprocessable(secrets.missing(body.tool), code="secret_required")
    source = Source.build(tenant, name, body, secret)
    await repository.upsert_source(
        session,
        intake.keyring,
        tenant=tenant,
        name=name,
        tool=source.tool,
        config=source.public_config(),
        secret=source.secret,
        api_token=source.api_token,
        by=by.sub,
    )
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=by, target=f"source:{name}",
        action="source.changed" if current else "source.added", detail=_changes(current, source),
    )  # fmt: skip
    intake.forget_source(tenant, name)
    row = await repository.get_source(session, tenant, name)
    assert row is not None
    return Saved(row, generated)


async def rotate(
    session: AsyncSession,
    intake: Intake,
    tenant: str,
    name: str,
    secret: str | None,
    *,
    by: Principal,
) -> Saved:
    """A new signing secret for the source, its configuration kept: generated (shown once)
    unless the tool issues its own, which is then pasted as `secret`. The old secret is refused
    from now on (in other ingest copies once their cache of the source expires, within
    `ingest_source_cache_s`)."""
    current = await repository.load(session, intake.keyring, tenant, name)
    if current is None:
        raise NotFound(f"no source {name!r}")
    generated = None
    if secret is None:
        secret = generated = secrets.generate(current.tool)
        if secret is None:
            raise Unprocessable(secrets.missing(current.tool), code="secret_required")
    elif why := secrets.problem(current.tool, secret):
        raise Unprocessable(
            why, code="secret_invalid", details=[{"field": "secret", "message": why}]
        )
    await repository.upsert_source(
        session, intake.keyring, tenant=tenant, name=name, tool=current.tool,
        config=current.public_config(), secret=secret, api_token=current.api_token, by=by.sub,
    )  # fmt: skip
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=by, target=f"source:{name}",
        action="source.secret_rotated", detail={"generated": generated is not None},
    )  # fmt: skip
    intake.forget_source(tenant, name)
    row = await repository.get_source(session, tenant, name)
    assert row is not None
    return Saved(row, generated)


async def sources(session: AsyncSession, tenant: str) -> list[SourceRow]:
    return await repository.list_sources(session, tenant)


async def get(session: AsyncSession, tenant: str, name: str) -> SourceRow:
    row = await repository.get_source(session, tenant, name)
    if row is None:
        raise NotFound(f"no source {name!r}")
    return row


async def delete(
    session: AsyncSession, intake: Intake, tenant: str, name: str, *, by: Principal
) -> None:
    if not await repository.delete_source(session, tenant, name):
        raise NotFound(f"no source {name!r}")
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=by, action="source.deleted", target=f"source:{name}"
    )
    intake.forget_source(tenant, name)


def _changes(before: Source | None, after: Source) -> dict[str, object]:
    """What a save changed, for the audit trail: the tool, the names of the settings that
    changed, and whether each secret did (never the secrets)."""
    old = before.public_config() if before else {}
    new = after.public_config()
    return {
        "tool": {"from": before.tool if before else None, "to": after.tool},
        "settings_changed": sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k)),
        "secret_changed": before is None or before.secret != after.secret,
        "api_token_changed": (before.api_token if before else None) != after.api_token,
    }


async def load(session: AsyncSession, keyring: Keyring, tenant: str, name: str) -> Source | None:
    """The source as the adapters use it (secrets included), or None if there is none."""
    return await repository.load(session, keyring, tenant, name)
