"""notify service: actions in; tasks, emails, chat posts and the staff page out; and the store
of every service's audit trail.

One folder per feature (`tasks`, `email`, `chat`, `staff`, `ui`, `dashboard`, `unsubscribe`,
`audit`), each with its routes, service and repository; `handlers.py` decides what an action
makes, this module wires.
"""

from __future__ import annotations

from fastapi import FastAPI

from anbefal.common.app import Runtime, Wiring, create_service_app, service_consumer
from anbefal.common.app.privacy import export_router
from anbefal.common.outbox import OutboxRelay
from anbefal.common.retention import RetentionWorker
from anbefal.common.services import NOTIFY
from anbefal.notify import handlers
from anbefal.notify.audit import routes as audit_routes
from anbefal.notify.chat import routes as chat_routes
from anbefal.notify.chat.worker import ChatWorker
from anbefal.notify.dashboard import routes as dashboard_routes
from anbefal.notify.digest import routes as digest_routes
from anbefal.notify.digest.worker import DigestWorker
from anbefal.notify.email import routes as email_routes
from anbefal.notify.email.sender import SmtpSender
from anbefal.notify.email.worker import EmailWorker
from anbefal.notify.models import CONSUMER_TABLES, OUTBOX
from anbefal.notify.performance import health as health_routes
from anbefal.notify.performance import routes as performance_routes
from anbefal.notify.privacy import export
from anbefal.notify.privacy.retention import anonymisers
from anbefal.notify.reasons import routes as reasons_routes
from anbefal.notify.settings import NotifySettings
from anbefal.notify.sso import routes as sso_routes
from anbefal.notify.staff import routes as staff_routes
from anbefal.notify.staff.passwords import PasswordChecker
from anbefal.notify.staff.service import Logins
from anbefal.notify.staff.throttle import LoginThrottle
from anbefal.notify.state import NotifyState
from anbefal.notify.tasks import repository as tasks_repository
from anbefal.notify.tasks import routes as tasks_routes
from anbefal.notify.tasks.sla import SlaClock
from anbefal.notify.tenants import routes as tenants_routes
from anbefal.notify.ui import admin_accounts as admin_accounts_routes
from anbefal.notify.ui import admin_rules as admin_rules_routes
from anbefal.notify.ui import admin_settings as admin_settings_routes
from anbefal.notify.ui import admin_sources as admin_sources_routes
from anbefal.notify.ui import admin_users as admin_users_routes
from anbefal.notify.ui import links as link_routes
from anbefal.notify.ui import login as login_routes
from anbefal.notify.ui import routes as ui_routes
from anbefal.notify.ui import set_password as set_password_routes
from anbefal.notify.unsubscribe import routes as unsubscribe_routes


def wire(runtime: Runtime[NotifySettings]) -> Wiring[NotifyState]:
    settings = runtime.settings
    sender = EmailWorker(
        runtime.sessionmaker,
        SmtpSender(settings),
        poll_s=settings.email_poll_s,
        max_attempts=settings.email_max_attempts,
        max_per_recipient_per_day=settings.email_max_per_recipient_per_day,
        keyring=settings.keyring,
    )
    sla = SlaClock(runtime.sessionmaker, settings)
    chat = ChatWorker(runtime.sessionmaker, settings)
    digest = DigestWorker(runtime.sessionmaker, settings, on_email=sender.worker.wake)
    relay = OutboxRelay(
        runtime.sessionmaker, runtime.publisher, OUTBOX, poll_s=settings.email_poll_s
    )

    consumer = service_consumer(
        runtime,
        NOTIFY,
        handlers.subscriptions(settings),
        CONSUMER_TABLES,
    )
    logins = Logins(
        LoginThrottle(
            free_per_address=settings.login_free_attempts_per_address,
            free_per_account=settings.login_free_attempts_per_account,
            max_s=settings.login_backoff_max_s,
        ),
        PasswordChecker(
            concurrency=settings.login_hash_concurrency, queue_s=settings.login_queue_s
        ),
    )
    interval_s = settings.retention_interval_s
    retention = RetentionWorker(
        "notify", runtime.sessionmaker, anonymisers(), interval_s=interval_s
    )
    return Wiring(
        NotifyState(settings, logins),
        consumers=[consumer],
        workers=[
            sender.run,
            chat.worker.run,
            digest.worker.run,
            relay.worker.run,
            sla.worker.run,
            retention.worker.run,
        ],
        on_scrape=[tasks_repository.refresh_task_gauges],
    )


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    return create_service_app(
        name="notify",
        title="Anbefal notify",
        description="Email, the call-back queue, the staff page and the audit trail.",
        settings=settings or NotifySettings(),
        # The API's routers in the order of its OpenAPI document, then the pages.
        routers=[
            tasks_routes.router,
            reasons_routes.router,
            performance_routes.router,
            health_routes.router,
            email_routes.router,
            chat_routes.router,
            tenants_routes.router,
            staff_routes.router,
            digest_routes.router,
            audit_routes.router,
            sso_routes.router,
            login_routes.router,
            set_password_routes.router,
            admin_users_routes.router,
            admin_sources_routes.router,
            admin_settings_routes.router,
            admin_rules_routes.router,
            admin_accounts_routes.router,
            ui_routes.router,
            dashboard_routes.router,
            link_routes.router,
            unsubscribe_routes.router,
            export_router(NOTIFY.name, export.collect, OUTBOX),
        ],
        # The one form that posts a file: the admin's CSV of accounts or people.
        upload_paths=(admin_accounts_routes.UPLOAD,),
        wire=wire,
    )
