"""The development mail sink: every message kept on disk; a line per message only when asked."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from anbefal.devstack.mailsink import MailSink, read_messages


def _send(port: int, to: str) -> None:
    message = EmailMessage()
    message["From"] = "noreply@anbefal.localhost"
    message["To"] = to
    message["Subject"] = "Tak for dit svar"
    message.set_content("Hej")
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(message)


@pytest.mark.parametrize("announce", [True, False])
def test_messages_are_kept_and_announced_only_when_asked(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], announce: bool
) -> None:
    """`make run`'s sink names each message for the person watching it; a bench's sink takes
    thousands and says nothing (its output is the bench's figures)."""
    sink = MailSink(tmp_path, announce=announce)
    sink.start()
    try:
        _send(sink.port, "ida@example.com")
    finally:
        sink.stop()
    assert [m["To"] for m in read_messages(tmp_path)] == ["ida@example.com"]
    announced = "mail sink: message 000001 from noreply@anbefal.localhost to ida@example.com"
    assert (announced in capfd.readouterr().err) is announce
