from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from anbefal.common.crypto import Keyring
from anbefal.common.services import CLOSED_LOOP, INGEST, NOTIFY, SCORING
from anbefal.common.settings import BaseServiceSettings
from anbefal.notify.unsubscribe.tokens import LinkKeys


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
    # How often the mail and chat senders and the outbox relay look for work nobody woke them
    # for: rows another copy wrote and did not send (it stopped first). This process's commits
    # wake them at once, and a retry wakes its sender when its backoff ends.
    email_poll_s: float = Field(default=10.0, gt=0)
    email_max_attempts: int = 8
    # Respondent-facing mails one address gets in 24 hours, over every tenant: an answer names
    # its own address, so without a cap anyone who can post answers could flood a mailbox.
    # Mail over the cap is not sent and stays in the log as `skipped`, with the reason.
    email_max_per_recipient_per_day: int = Field(default=5, ge=1)
    sla_poll_s: float = 5.0
    # How often the digest worker looks for tenants whose digest is due (`digest/schedule.py`).
    digest_poll_s: float = Field(default=300.0, gt=0)
    # Unsubscribe links' own keys, a keyring like ANBEFAL_DATA_KEYS (`anbefal keys new`): the
    # first seals new links, every listed key still opens; rotating the JWT keys leaves mailed
    # links working. Links mailed before they had their own keys are JWTs: the legacy secrets
    # (the JWT secret of that time, comma-separated) still read them; unset, the JWT keys do.
    unsubscribe_keys: SecretStr
    unsubscribe_legacy_secrets: SecretStr | None = None
    # Where the page is served; used for task links in staff mail and unsubscribe links.
    public_url: str = NOTIFY.dev_url
    # The dashboard reads scoring's API here, as the logged-in person (a token the web app
    # issues for them, valid for a minute); a call slower than the timeout shows the section
    # as unavailable rather than holding the page.
    scoring_url: str = SCORING.dev_url
    dashboard_api_timeout_s: float = Field(default=10.0, gt=0)
    # The admin's sources page calls ingest's API here, the same way (a minute's token).
    ingest_url: str = INGEST.dev_url
    # The admin's rules and accounts pages call closed_loop's API here, the same way.
    closed_loop_url: str = CLOSED_LOOP.dev_url
    # How often the staff page's queue asks for fresh rows (its live update).
    ui_poll_s: float = Field(default=5.0, gt=0)
    # Tasks per page of the staff page's queue (the counts above it are always the whole
    # queue's).
    ui_page_size: int = Field(default=50, ge=1, le=500)
    # Staff logins: a session lasts this long; password checks run this many at once (off the
    # event loop), a login waits at most login_queue_s for one; attempts beyond the free ones
    # per client address and per account double the wait, up to login_backoff_max_s.
    staff_session_hours: float = Field(default=12.0, gt=0)
    # How long an invitation's or a password reset's one-time link works.
    staff_link_hours: float = Field(default=72.0, gt=0)
    login_hash_concurrency: int = Field(default=2, ge=1)
    login_queue_s: float = Field(default=10.0, gt=0)
    login_free_attempts_per_address: int = Field(default=30, ge=1)
    login_free_attempts_per_account: int = Field(default=5, ge=1)
    login_backoff_max_s: float = Field(default=900.0, gt=0)
    # Slack/Teams incoming webhooks (per tenant, set with PUT /v1/tenants/{t}/chat-webhook).
    # Operator only (the environment, never the API): accept a webhook on any host, e.g. a
    # local fake in tests. Otherwise only Slack's and Teams' own hosts, over https.
    chat_webhook_any_host: bool = False
    chat_timeout_s: float = 10.0
    # Single sign-on (PUT /v1/tenants/{t}/sso). Operator only: accept an issuer over plain http
    # and at a private address, e.g. a provider on this machine in development and tests.
    # Otherwise https only, and only public addresses are called (`common/egress.py`).
    sso_allow_http_issuer: bool = False
    chat_max_attempts: int = 10

    @field_validator("unsubscribe_keys")
    @classmethod
    def _parse_unsubscribe_keys(cls, value: SecretStr) -> SecretStr:
        Keyring.parse(value.get_secret_value())  # a malformed spec stops start-up
        return value

    def unsubscribe_link_keys(self) -> LinkKeys:
        if self.unsubscribe_legacy_secrets is not None:
            spec = self.unsubscribe_legacy_secrets.get_secret_value()
            legacy = [s.strip().encode() for s in spec.split(",") if s.strip()]
        else:
            legacy = list(self.signing_keys().keys.values())
        return LinkKeys(Keyring.parse(self.unsubscribe_keys.get_secret_value()), legacy)
