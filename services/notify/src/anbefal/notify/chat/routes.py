"""The Slack/Teams delivery log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from anbefal.common.deps import SessionDep, TenantPath
from anbefal.notify.access import LogReader
from anbefal.notify.chat import service
from anbefal.notify.schemas import ChatMessageList, ChatMessageOut

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
) -> ChatMessageList:
    rows = await service.log(session, tenant, limit)
    return ChatMessageList(chat_messages=[ChatMessageOut.model_validate(m) for m in rows])
