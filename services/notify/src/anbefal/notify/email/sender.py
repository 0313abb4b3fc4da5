"""Sending mail: the `EmailSender` seam and its SMTP implementation (aiosmtplib)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import time
from collections.abc import Iterator, Mapping
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

    async def aclose(self) -> None:
        """Close what the sender keeps open between mails."""


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


# An idle connection older than this is closed rather than used: relays drop idle sessions
# (RFC 5321 asks them to wait at least 5 minutes; some wait less), and a send into one the relay
# has just closed costs a failed attempt first.
_IDLE_S = 30.0
# Connections kept open between mails, at most: one batch's mails go out side by side.
_MAX_IDLE = 20


class SmtpSender:
    """Sends each message over a connection kept open between mails.

    A new connection per mail costs a TCP handshake, the TLS handshake, EHLO and the login
    before the mail itself (with a local relay and no TLS, 0.5-1.4 ms of CPU more per mail,
    client and relay together); relays also limit how often a client may connect. A connection
    is used by one mail at a time; one that fails is closed, never reused.
    """

    def __init__(self, settings: NotifySettings) -> None:
        self._settings = settings
        # aiosmtplib builds a TLS context per connection unless given one, and asks the
        # resolver for this host's name per connection unless told: both once per process.
        self._tls = (
            client_context(settings.smtp_ca_file) if settings.smtp_security != "none" else None
        )
        self._local_hostname: str | None = None
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # (connection, idle since)

    async def send(self, message: EmailMessage) -> None:
        client, reused = await self._take()
        try:
            with _closed_on_failure(client):
                await client.send_message(message)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
            if not reused:
                raise
            # The relay closed the connection while it was idle, and the first command found
            # out: the message goes once more, on a new connection. (Had the relay dropped it
            # after taking the message, it would arrive twice with one Message-ID, as after a
            # crash between the send and its commit: email is at-least-once.)
            client = await self._connect()
            with _closed_on_failure(client):
                await client.send_message(message)
        self._put(client)

    async def _take(self) -> tuple[aiosmtplib.SMTP, bool]:
        """An open connection (and whether it is reused), a new one if none is fit."""
        now = time.monotonic()
        while self._idle:
            client, since = self._idle.pop()
            if now - since < _IDLE_S and client.is_connected:
                return client, True
            client.close()
        return await self._connect(), False

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for client, _ in idle:
            try:
                await client.quit(timeout=2)
            except Exception:  # the relay is gone: closing our end is all there is to do
                client.close()

    def _put(self, client: aiosmtplib.SMTP) -> None:
        if len(self._idle) < _MAX_IDLE and client.is_connected:
            self._idle.append((client, time.monotonic()))
        else:
            client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self._settings
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        client = aiosmtplib.SMTP(
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
        with _closed_on_failure(client):
            await client.connect()  # and STARTTLS and the login, as configured
        return client


@contextlib.contextmanager
def _closed_on_failure(client: aiosmtplib.SMTP) -> Iterator[None]:
    """Close `client` when the block fails (a connection in an unknown state is never reused);
    a 5xx reply becomes `PermanentFailure`."""
    try:
        yield
    except aiosmtplib.SMTPResponseException as exc:
        client.close()
        if 500 <= exc.code < 600:
            raise PermanentFailure(f"{exc.code} {exc.message}") from exc
        raise
    except BaseException:
        client.close()
        raise
