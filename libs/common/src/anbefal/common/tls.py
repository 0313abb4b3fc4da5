"""TLS for outgoing connections: one client context per process for each trust store.

Building a context loads the trusted certificates, tens of milliseconds of CPU on a full CA
store: more than a mail or a chat post costs otherwise. A configured context is safe to share
between connections, so every client of the process takes it from here. A changed CA file
is read at the next start.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def client_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Verifies the server's certificate and name against the system's trusted certificates,
    and those in `ca_file` (a private CA) as well."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file is not None:
        context.load_verify_locations(cafile=ca_file)
    return context


@functools.cache
def http_context() -> ssl.SSLContext:
    """What an httpx client verifies with by default (certifi's CA bundle, or
    `SSL_CERT_FILE`), built once: a client given `verify=http_context()` loads no certificates
    of its own."""
    return httpx.create_ssl_context()
