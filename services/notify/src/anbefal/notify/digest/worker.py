"""The scheduled digest: a polling worker that writes each tenant's digest when its weekday
morning comes (`schedule.py`), into the email outbox the email worker sends from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anbefal.common.worker import PollingWorker
from anbefal.notify.digest import service
from anbefal.notify.settings import NotifySettings


class DigestWorker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: NotifySettings,
        *,
        on_email: Callable[[], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._clock = clock
        self.worker = PollingWorker(
            "digest", sessionmaker, self.step, poll_s=settings.digest_poll_s, after_commit=on_email
        )

    async def step(self, session: AsyncSession) -> int:
        return await service.send_due(session, self._settings, self._clock())
