"""A tenant's settings: read, and changed in part (`PATCH .../settings`).

notify keeps each tenant's whole record (`TenantRecord`); a partial update merges the fields it
names into it, validates the result as a `TenantSettings` (a 422 names the field), saves it at
once under the row's lock, and publishes it whole on `anbefal.tenants.v1` through the outbox, in
one transaction. Every service takes it from there; notify's own consumer records the audit
entry (each setting from and to, the actor from `changed_by`), as for any settings event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, EmailStr, ValidationError, create_model, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import topics
from anbefal.common.app import validation_details
from anbefal.common.audit import actor_of
from anbefal.common.auth import Principal
from anbefal.common.errors import NotFound, Unprocessable
from anbefal.common.events import TenantSettings
from anbefal.common.outbox import OutboxEvent, enqueue
from anbefal.notify.models import OUTBOX
from anbefal.notify.tenants import repository

# The event's bookkeeping, and the chat webhook URL, which is no setting any more (a credential,
# set through `.../chat-webhook`): neither is set through the settings API.
NOT_SETTABLE = frozenset(
    {"schema_version", "tenant", "updated_at", "changed_by", "chat_webhook_url"}
)
_EMAILS = frozenset({"default_director", "default_salesperson", "sender_email", "escalation_next"})
_ANNOTATIONS: dict[str, Any] = dict.fromkeys(_EMAILS, EmailStr) | {
    "digest_recipients": list[EmailStr]
}


class _Checks(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("time_zone", check_fields=False)
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"{value!r} is not an IANA time zone") from exc
        return value


# Every setting, each optional: what a PATCH may name. Ranges are checked on the merged record
# (TenantSettings), so they are declared once; addresses must be addresses.
SettingsPatch: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "SettingsPatch",
    __base__=_Checks,
    __doc__="The settings to change; those left out keep their value, null clears one that "
    "may be empty.",
    **{
        name: (Optional[_ANNOTATIONS.get(name, field.annotation)], None)  # noqa: UP045
        for name, field in TenantSettings.model_fields.items()
        if name not in NOT_SETTABLE
    },
)


def shown(record: TenantSettings) -> dict[str, Any]:
    return record.model_dump(mode="json", exclude={"schema_version", "chat_webhook_url"})


async def get(session: AsyncSession, tenant: str) -> TenantSettings:
    record = await repository.stored(session, tenant)
    if record is None:
        raise NotFound(f"tenant {tenant!r} has no settings yet")
    return record


async def patch(
    session: AsyncSession, tenant: str, body: dict[str, Any], *, by: Principal
) -> TenantSettings:
    """`PATCH .../settings` (the API's and the settings page's): the fields named in `body`,
    checked (a 422 names each field that is not valid), merged and published."""
    try:
        fields = SettingsPatch.model_validate(body).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise Unprocessable(
            "the settings are not valid", details=validation_details(exc.errors())
        ) from exc
    return await change(session, tenant, fields, by=by)


async def change(
    session: AsyncSession, tenant: str, fields: dict[str, Any], *, by: Principal
) -> TenantSettings:
    """Merge `fields` (as given: a null clears) into the tenant's record and publish it; a
    tenant without settings gets the defaults, named by its slug until it is given a name."""
    current = await repository.stored(session, tenant, lock=True)
    base = current.model_dump() if current else {"tenant": tenant, "display_name": tenant}
    merged = {**base, **fields, "chat_webhook_url": None}
    if current is not None and all(base.get(k) == v for k, v in fields.items()):
        return current  # nothing changes: no event, no audit entry
    try:
        record = TenantSettings.model_validate(
            {**merged, "updated_at": datetime.now(UTC), "changed_by": actor_of(by)}
        )
    except ValidationError as exc:
        raise Unprocessable(
            "the settings are not valid", details=validation_details(exc.errors())
        ) from exc
    await repository.save(session, [record])
    await enqueue(
        session, OUTBOX, topics.TENANTS,
        [OutboxEvent(uuid.uuid4(), tenant, record.key, record.to_bytes())],
    )  # fmt: skip
    return record
