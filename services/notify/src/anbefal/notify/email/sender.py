"""Sending mail: the `EmailSender` seam and its SMTP implementation (aiosmtplib)."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import aiosmtplib

from anbefal.common.tls import client_context
from anbefal.notify.settings import NotifySettings


class PermanentFailure(Exception):
    """The relay refused the message for good (5xx): retrying will not help."""


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def build_message(
    *,
    sender: str,
    recipient: str,
    reply_to: str | None,
    subject: str,
    body: str,
    message_id: str,
    unsubscribe_url: str | None = None,
    html: str | None = None,
    images: Mapping[str, str] | None = None,
) -> EmailMessage:
    """The message; with `html`, a multipart/alternative whose HTML part carries `images`
    (content id → base64 PNG) as multipart/related parts, shown inline by `cid:` references."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    # Deterministic: a resend after a crash carries the same id, so clients can dedupe.
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(datetime.now(UTC))
    if unsubscribe_url:
        # RFC 8058 one-click: mail clients POST `List-Unsubscribe=One-Click` to the link.
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
        html_part = message.get_body(("html",))
        assert html_part is not None  # just added
        for cid, png in (images or {}).items():
            html_part.add_related(
                base64.b64decode(png), "image", "png", cid=f"<{cid}>", filename=f"{cid}.png"
            )
    return message


class SmtpSender:
    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings
        # aiosmtplib builds a TLS context per connection unless given one, and asks the
        # resolver for this host's name per connection unless told: both once per process.
        self._tls = (
            client_context(settings.smtp_ca_file) if settings.smtp_security != "none" else None
        )
        self._local_hostname: str | None = None

    async def send(self, message: EmailMessage) -> None:
        s = self._settings
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                local_hostname=self._local_hostname,
                use_tls=s.smtp_security == "tls",
                start_tls=True if s.smtp_security == "starttls" else False,
                tls_context=self._tls,
                timeout=s.smtp_timeout_s,
            )
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentFailure(f"{exc.code} {exc.message}") from exc
            raise
