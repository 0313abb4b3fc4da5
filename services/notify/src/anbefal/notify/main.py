"""notify service: actions in; tasks, emails and (later) the staff page out."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from fastapi import FastAPI

from anbefal.common import topics
from anbefal.common.app import Runtime, WorkerFn, create_service_app
from anbefal.common.kafka import ConsumerLoop
from anbefal.notify import handlers
from anbefal.notify.email.sender import SmtpSender
from anbefal.notify.email.worker import EmailWorker
from anbefal.notify.models import CONSUMER_TABLES
from anbefal.notify.routes import router
from anbefal.notify.settings import NotifySettings

GROUP_NAME = "notify"


def _settings(runtime: Runtime) -> NotifySettings:
    assert isinstance(runtime.settings, NotifySettings)
    return runtime.settings


def _worker(runtime: Runtime) -> EmailWorker:
    worker = runtime.extras.get("email_worker")
    if worker is None:
        settings = _settings(runtime)
        worker = EmailWorker(
            runtime.sessionmaker,
            SmtpSender(settings),
            poll_s=settings.email_poll_s,
            max_attempts=settings.email_max_attempts,
        )
        runtime.extras["email_worker"] = worker
    assert isinstance(worker, EmailWorker)
    return worker


def consumers(runtime: Runtime) -> Sequence[ConsumerLoop]:
    return [
        ConsumerLoop(
            group_id=f"{runtime.settings.group_prefix}-{GROUP_NAME}",
            session_timeout_ms=runtime.settings.consumer_session_timeout_ms,
            topic_names=[topics.ACTIONS, topics.TENANTS],
            bootstrap=runtime.settings.kafka_bootstrap,
            sessionmaker=runtime.sessionmaker,
            tables=CONSUMER_TABLES,
            handler=partial(handlers.handle, settings=_settings(runtime)),
            publisher=runtime.publisher,
            after_commit=_worker(runtime).wake,
        )
    ]


def workers(runtime: Runtime) -> Sequence[WorkerFn]:
    return [_worker(runtime).run]


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    return create_service_app(
        name="notify",
        title="Anbefal notify",
        description="Email, the call-back queue and the staff page.",
        settings=settings or NotifySettings(),
        routers=[router],
        consumers=consumers,
        workers=workers,
    )
