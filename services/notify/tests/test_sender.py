"""SmtpSender against a local aiosmtpd relay that speaks STARTTLS or implicit TLS and requires
a login, with a self-signed certificate made for the test by the `openssl` command."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr

from anbefal.devstack.testing import TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS, free_port
from anbefal.notify.email.sender import PermanentFailure, SmtpSender, build_message
from anbefal.notify.settings import NotifySettings

USER, PASSWORD = "anbefal", "relay password 1"
# aiosmtpd does not count an implicit-TLS connection as encrypted for AUTH (aio-libs/aiosmtpd
# #281), so that relay runs with auth_require_tls=False, which warns. The connection is TLS from
# the first byte: `Relay.handle_DATA` records that, and the tests assert it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@dataclass
class Relay:
    logins: list[tuple[str, bool]] = field(default_factory=list)
    received: list[tuple[bool, bytes]] = field(default_factory=list)
    sessions: list[SMTP] = field(default_factory=list)  # each connection that sent a mail
    loop: asyncio.AbstractEventLoop | None = None  # the relay's own (the controller's thread)

    def hang_up(self) -> None:
        """Close every connection from the relay's side, and wait until it is closed."""
        assert self.loop is not None
        done = threading.Event()

        def close() -> None:
            for server in self.sessions:
                if server.transport is not None:
                    server.transport.close()
            done.set()

        self.loop.call_soon_threadsafe(close)
        assert done.wait(5)

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        ok = (data.login, data.password) == (USER.encode(), PASSWORD.encode())
        self.logins.append((data.login.decode(), ok))
        # handled=False: aiosmtpd sends the 235 or 535 reply itself.
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        # The transport carries an SSL object only on an encrypted connection: proof the mail
        # did not go in the clear (`session.ssl` is unset for implicit TLS, aiosmtpd #281 again).
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.received.append((encrypted, envelope.original_content or b""))
        if server not in self.sessions:
            self.sessions.append(server)
        return "250 OK"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "relay.pem", folder / "relay.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


Security = Literal["starttls", "tls"]


@pytest.fixture(params=["starttls", "tls"])
def relay(
    request: pytest.FixtureRequest, certificate: tuple[Path, Path]
) -> Iterator[tuple[Relay, int, Security]]:
    security: Security = request.param
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    handler = Relay()
    port = free_port()
    common: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": port,
        "authenticator": handler.authenticate,
        "auth_required": True,
    }
    if security == "starttls":
        controller = Controller(handler, tls_context=context, require_starttls=True, **common)
    else:
        # The controller's own start-up probe must trust the certificate too.
        controller = Controller(
            handler,
            ssl_context=context,
            server_hostname="127.0.0.1",
            auth_require_tls=False,
            **common,
        )
    controller.start()
    handler.loop = controller.loop
    yield handler, port, security
    controller.stop()


# Every sender a test made: each keeps its connection to the relay open between mails, and is
# closed after the test, before the relay stops (an open socket left to the garbage collector
# fails the test run).
_made: list[SmtpSender] = []


@pytest.fixture(autouse=True)
async def close_senders(relay: tuple[Relay, int, Security]) -> AsyncIterator[None]:
    yield
    while _made:
        await _made.pop().aclose()


def sender(port: int, security: Security, ca: Path | None, password: str = PASSWORD) -> SmtpSender:
    made = SmtpSender(
        NotifySettings(
            jwt_secret=SecretStr(TEST_JWT_SECRET),
            unsubscribe_keys=SecretStr(TEST_UNSUBSCRIBE_KEYS),
            smtp_port=port,
            smtp_security=security,
            smtp_username=USER,
            smtp_password=SecretStr(password),
            smtp_ca_file=str(ca) if ca else None,
            smtp_timeout_s=10,
        )
    )
    _made.append(made)
    return made


def message() -> Any:
    return build_message(
        sender="Acme <noreply@acme.example>",
        recipient="ida@example.com",
        reply_to=None,
        subject="Tak",
        body="Tak for dit svar.",
        message_id="<fixed@acme.example>",
    )


async def test_logs_in_and_sends_over_tls(
    relay: tuple[Relay, int, Security], certificate: tuple[Path, Path]
) -> None:
    handler, port, security = relay
    await sender(port, security, certificate[0]).send(message())
    assert handler.logins == [(USER, True)]
    ((encrypted, content),) = handler.received
    assert encrypted
    assert b"Message-ID: <fixed@acme.example>" in content


async def test_a_wrong_password_is_a_permanent_failure(
    relay: tuple[Relay, int, Security], certificate: tuple[Path, Path]
) -> None:
    handler, port, security = relay
    with pytest.raises(PermanentFailure, match="535"):
        await sender(port, security, certificate[0], password="wrong password").send(message())
    # aiosmtplib tries each mechanism the relay offers (PLAIN, LOGIN); every one was refused.
    assert len(handler.logins) == 2
    assert set(handler.logins) == {(USER, False)}
    assert handler.received == []


async def test_an_untrusted_certificate_is_refused(relay: tuple[Relay, int, Security]) -> None:
    handler, port, security = relay
    # Without the test CA the system's trust store applies, and it does not know this relay.
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        await sender(port, security, None).send(message())
    assert handler.logins == []
    assert handler.received == []


async def test_mails_share_one_tls_context(
    relay: tuple[Relay, int, Security],
    certificate: tuple[Path, Path],
    trust_store_loads: list[object],
) -> None:
    handler, port, security = relay
    smtp = sender(port, security, certificate[0])
    for _ in range(3):
        await smtp.send(message())
    assert [encrypted for encrypted, _ in handler.received] == [True, True, True]
    # Each context loads the trust store (tens of ms of CPU): once per process, not per mail.
    assert len(trust_store_loads) <= 1


async def test_mails_share_one_connection_and_one_login(
    relay: tuple[Relay, int, Security], certificate: tuple[Path, Path]
) -> None:
    handler, port, security = relay
    smtp = sender(port, security, certificate[0])
    for _ in range(3):
        await smtp.send(message())
    # A connection per mail was a TCP and a TLS handshake, EHLO and a login before each.
    assert len(handler.received) == 3
    assert handler.logins == [(USER, True)]
    assert len(handler.sessions) == 1


async def test_a_connection_the_relay_closed_is_not_used_again(
    relay: tuple[Relay, int, Security], certificate: tuple[Path, Path]
) -> None:
    handler, port, security = relay
    smtp = sender(port, security, certificate[0])
    await smtp.send(message())
    handler.hang_up()  # the relay drops the idle session, as relays do after a while
    await smtp.send(message())
    assert [encrypted for encrypted, _ in handler.received] == [True, True]
    assert handler.logins == [(USER, True), (USER, True)]
