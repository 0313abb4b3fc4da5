"""ingest's consumer handlers: it erases its own copies of a person like every service, and as
the owner of erasure requests it stores every service's report (`privacy/`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from anbefal.common.crypto import Keyring
from anbefal.common.erasure import erasure_handler
from anbefal.common.events import ErasureReported, ErasureRequested
from anbefal.common.kafka import HandlerContext, Subscriptions
from anbefal.common.services import INGEST
from anbefal.ingest.models import OUTBOX, TENANTS
from anbefal.ingest.privacy import erasure, requests


async def handle_reports(ctx: HandlerContext[Any], reports: Sequence[ErasureReported]) -> None:
    await requests.record_reports(ctx.session, reports)


def subscriptions(keyring: Callable[[], Keyring]) -> Subscriptions[Any]:
    return Subscriptions(
        {
            ErasureRequested: erasure_handler(INGEST.name, keyring, erasure.erase, OUTBOX),
            ErasureReported: handle_reports,
        },
        tenants=TENANTS,
    )
