"""The Slack/Teams delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from anbefal.common import audit
from anbefal.common.auth import Principal, Role
from anbefal.common.deps import SessionDep, TenantPath, allow
from anbefal.notify.access import LogReader
from anbefal.notify.chat import service
from anbefal.notify.dependencies import NotifyStateDep
from anbefal.notify.models import OUTBOX
from anbefal.notify.schemas import ChatMessageList, ChatMessageOut

Admin = Annotated[Principal, allow(Role.ADMIN)]

router = APIRouter(tags=["tasks"])


@router.get(
    "/v1/tenants/{tenant}/chat-messages",
    response_model=ChatMessageList,
    summary="Slack/Teams delivery log",
)
async def list_chat_messages(
    tenant: TenantPath,
    principal: LogReader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> ChatMessageList:
    page = await service.log(session, tenant, limit, cursor)
    return ChatMessageList(
        chat_messages=[ChatMessageOut.model_validate(m) for m in page.rows],
        next_cursor=page.next_cursor,
        total=page.total,
    )


class ChatWebhookIn(BaseModel):
    url: str = Field(max_length=2000, description="The Slack or Teams incoming-webhook URL")


class ChatWebhookOut(BaseModel):
    configured: bool
    host: str | None = Field(description="the webhook's host; the URL itself is never shown")


@router.get(
    "/v1/tenants/{tenant}/chat-webhook",
    response_model=ChatWebhookOut,
    tags=["chat"],
    summary="Whether new detractor tasks are posted to Slack/Teams, and to which host",
)
async def get_chat_webhook(
    tenant: TenantPath, principal: Admin, session: SessionDep
) -> ChatWebhookOut:
    host = await service.webhook_host(session, tenant)
    return ChatWebhookOut(configured=host is not None, host=host)


@router.put(
    "/v1/tenants/{tenant}/chat-webhook",
    response_model=ChatWebhookOut,
    tags=["chat"],
    summary="Set the Slack/Teams incoming webhook for new detractor tasks (admin)",
    description="The URL is a credential: stored sealed with the deployment's data keys, never "
    "returned or logged. Only https URLs on Slack's or Teams' own hosts are taken (422).",
)
async def put_chat_webhook(
    tenant: TenantPath,
    body: ChatWebhookIn,
    principal: Admin,
    session: SessionDep,
    state: NotifyStateDep,
) -> ChatWebhookOut:
    before = await service.webhook_host(session, tenant)
    host = await service.set_webhook(session, tenant, body.url, state.settings, principal.sub)
    await _audit(session, tenant, principal, before is not None, True)
    return ChatWebhookOut(configured=True, host=host)


@router.delete(
    "/v1/tenants/{tenant}/chat-webhook",
    response_model=ChatWebhookOut,
    tags=["chat"],
    summary="Stop posting new detractor tasks to Slack/Teams (admin)",
)
async def delete_chat_webhook(
    tenant: TenantPath, principal: Admin, session: SessionDep
) -> ChatWebhookOut:
    before = await service.webhook_host(session, tenant)
    await service.clear_webhook(session, tenant)
    await _audit(session, tenant, principal, before is not None, False)
    return ChatWebhookOut(configured=False, host=None)


async def _audit(
    session: AsyncSession, tenant: str, principal: Principal, was: bool, now: bool
) -> None:
    # Only whether a webhook is set: the URL is a credential.
    await audit.record(
        session, OUTBOX, tenant=tenant, actor=principal, action="tenant.changed",
        target="chat_webhook", detail={"chat_webhook_set": {"from": was, "to": now}},
    )  # fmt: skip
