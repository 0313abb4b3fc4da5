"""A source's secrets at rest: sealed with the deployment keyring, bound to their row and field.

The context (`ingest.sources/<tenant>/<name>/<field>`) is authenticated with the ciphertext, so
a sealed secret copied to another source or tenant does not open. The key id travels with each
value: after a key rotation every listed key still opens its values, and `reseal` moves them to
the current key.
"""

from __future__ import annotations

from anbefal.common.crypto import Keyring


def _context(tenant: str, name: str, field: str) -> str:
    return f"ingest.sources/{tenant}/{name}/{field}"


def seal_source_secret(keyring: Keyring, tenant: str, name: str, field: str, value: str) -> str:
    return keyring.seal_text(value, context=_context(tenant, name, field))


def open_source_secret(keyring: Keyring, tenant: str, name: str, field: str, sealed: str) -> str:
    return keyring.open_text(sealed, context=_context(tenant, name, field))
