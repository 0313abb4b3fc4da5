"""The TLS context notify's HTTP clients share (chat webhooks, the pages' calls to the other
services' APIs): httpx's own (certifi's CA bundle, or `SSL_CERT_FILE`), built once per process.
Each build loads the CA bundle, tens of milliseconds of CPU: more than the call it serves.
SMTP trusts the system's store instead (`anbefal.common.tls`), as it always has."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def http_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
