from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from anbefal.common.services import NOTIFY
from anbefal.common.settings import BaseServiceSettings


class NotifySettings(BaseServiceSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = 10.0
    # A CA bundle to trust for the relay's certificate (a private CA); None: the system's.
    smtp_ca_file: str | None = None
    email_from: str = "Anbefal <noreply@anbefal.localhost>"
    email_poll_s: float = 1.0
    email_max_attempts: int = 8
    # Respondent-facing mails one address gets in 24 hours, over every tenant: an answer names
    # its own address, so without a cap anyone who can post answers could flood a mailbox.
    # Mail over the cap is not sent and stays in the log as `skipped`, with the reason.
    email_max_per_recipient_per_day: int = Field(default=5, ge=1)
    sla_poll_s: float = 5.0
    # Where the page is served; used for task links in staff mail and unsubscribe links.
    public_url: str = NOTIFY.dev_url
    # How often the staff page's queue asks for fresh rows (its live update).
    ui_poll_s: float = Field(default=5.0, gt=0)
    # Slack/Teams incoming webhooks (the URL is per tenant, in TenantSettings.chat_webhook_url).
    chat_timeout_s: float = 10.0
    chat_max_attempts: int = 10
