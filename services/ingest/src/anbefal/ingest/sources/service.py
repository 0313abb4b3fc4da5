"""Sources' operations: the admin API's, and reading one as the adapters use it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common.crypto import Keyring
from anbefal.common.errors import NotFound, Unprocessable
from anbefal.common.events import GENERIC_API
from anbefal.ingest.intake.gate import Intake
from anbefal.ingest.models import SourceRow
from anbefal.ingest.sources import repository, secrets
from anbefal.ingest.sources.config import Source, SourceIn


@dataclass(frozen=True)
class Saved:
    row: SourceRow
    # A secret made for this save: shown once, in this answer, and never again.
    generated_secret: str | None


async def put(
    session: AsyncSession, intake: Intake, tenant: str, name: str, body: SourceIn, *, by: str
) -> Saved:
    """Create or replace a source; this copy's cached configuration is dropped at once.

    Without a secret in the body, an existing source keeps its own and a new one gets a
    generated secret (unless its tool issues the secret itself)."""
    if name == GENERIC_API:
        raise Unprocessable(f"{GENERIC_API!r} names the generic API", code="reserved_name")
    secret, generated = body.secret, None
    if secret is None:
        current = await repository.load(session, intake.keyring, tenant, name)
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
        by=by,
    )
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


async def delete(session: AsyncSession, intake: Intake, tenant: str, name: str) -> None:
    if not await repository.delete_source(session, tenant, name):
        raise NotFound(f"no source {name!r}")
    intake.forget_source(tenant, name)


async def load(session: AsyncSession, keyring: Keyring, tenant: str, name: str) -> Source | None:
    """The source as the adapters use it (secrets included), or None if there is none."""
    return await repository.load(session, keyring, tenant, name)
