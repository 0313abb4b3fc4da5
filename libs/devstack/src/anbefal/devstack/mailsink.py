"""The development SMTP server: keeps every message it receives and shows them on a page.

A real SMTP conversation (aiosmtpd), so the services send mail exactly as they would to a
production relay; the messages land as `.eml` files a newcomer can read in the browser.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import html
import itertools
import json
import os
import signal
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from anbefal.devstack.system import say


class _KeepEverything:
    def __init__(self, directory: Path, announce: bool) -> None:
        self.directory = directory
        self._announce = announce
        self._lock = threading.Lock()
        existing = [int(p.stem) for p in directory.glob("*.eml") if p.stem.isdigit()]
        self._numbers = itertools.count(max(existing, default=0) + 1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self._lock:
            number = next(self._numbers)
        name = f"{number:06d}"
        content = envelope.original_content or b""
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)}
        # Write then rename: a reader never sees half a message.
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(content)
        (self.directory / f"{name}.json").write_text(json.dumps(meta))
        os.replace(tmp, self.directory / f"{name}.eml")
        if self._announce:
            to = ", ".join(envelope.rcpt_tos)
            say(f"mail sink: message {name} from {envelope.mail_from} to {to}")
        return "250 Message accepted for delivery"


class MailSink:
    """`announce`: a line per message received, for a person watching `make run`; a bench
    or a test receiving thousands keeps quiet (the messages are on disk either way)."""

    def __init__(self, directory: Path, port: int = 0, *, announce: bool = False) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        if port == 0:
            from anbefal.devstack.testing import free_port

            port = free_port()
        self._controller = Controller(
            _KeepEverything(directory, announce), hostname="127.0.0.1", port=port
        )

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def read_messages(directory: Path) -> list[EmailMessage]:
    """Every message received so far, in arrival order."""
    messages = []
    for path in sorted(directory.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{text-align:left;padding:.4rem;border-bottom:1px solid #ddd}"
    "pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}"
)


def _page(title: str, body: str) -> str:
    head = f"<meta charset=utf-8><title>{html.escape(title)}</title><style>{_STYLE}</style>"
    return f"<!doctype html><html lang=en><head>{head}</head><body>{body}</body></html>"


def create_web_app(directory: Path) -> Any:
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import HTMLResponse

    web = FastAPI(title="Anbefal mail sink", docs_url=None, redoc_url=None)

    @web.get("/", response_class=HTMLResponse)
    async def index() -> str:
        rows = []
        for path in sorted(directory.glob("*.eml"), reverse=True):
            m = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            cells = (m.get("Date", ""), m.get("From", ""), m.get("To", ""))
            subject = html.escape(str(m.get("Subject", "(no subject)")))
            link = f'<a href="/messages/{path.stem}">{subject}</a>'
            tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
            rows.append(f"<tr>{tds}<td>{link}</td></tr>")
        header = "<tr><th>Date</th><th>From</th><th>To</th><th>Subject</th></tr>"
        table = f"<table>{header}{''.join(rows)}</table>"
        empty = "<p>No mail yet. Post a promoter's answer (score 9 or 10) to get a thank-you.</p>"
        return _page("Mail sink", f"<h1>Mail sink</h1>{table if rows else empty}")

    @web.get("/messages/{name}", response_class=HTMLResponse)
    async def message(name: str) -> str:
        path = directory / f"{name}.eml"
        if not name.isdigit() or not path.exists():
            raise HTTPException(404, "no such message")
        m = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(m, EmailMessage)
        head = "".join(
            f"<tr><th>{h}</th><td>{html.escape(str(m.get(h, '')))}</td></tr>"
            for h in ("From", "To", "Reply-To", "Subject", "Date", "Message-ID")
        )
        text = html.escape(_body_text(m))
        body = f"<p><a href='/'>All mail</a></p><table>{head}</table><pre>{text}</pre>"
        return _page(str(m.get("Subject", "")), body)

    return web


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Development SMTP server that keeps every message."
    )
    parser.add_argument("--dir", type=Path, required=True, help="folder for the received messages")
    parser.add_argument("--smtp-port", type=int, default=1025, help="SMTP port (default 1025)")
    parser.add_argument("--http-port", type=int, default=8025, help="web page port (default 8025)")
    args = parser.parse_args(argv)

    import uvicorn

    sink = MailSink(args.dir, args.smtp_port, announce=True)
    sink.start()
    say(f"mail sink: SMTP on 127.0.0.1:{sink.port}, messages at http://127.0.0.1:{args.http_port}/")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        uvicorn.run(
            create_web_app(args.dir), host="127.0.0.1", port=args.http_port, log_level="warning"
        )
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
