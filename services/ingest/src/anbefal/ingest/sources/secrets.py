"""Webhook secrets: generated where we choose them, long enough where a tool issues its own.

Pure. A secret we choose (a Typeform, Tally or Qualtrics signing secret, a Jotform URL token, a
Standard Webhooks `whsec_`) is 32 random bytes when the admin gives none, and at least 32
characters when they do; a secret the tool issues (Delighted's API key, a SurveyMonkey app's
client secret, the `whsec_` Formbricks shows for a webhook) is pasted and must be at least 16
characters (Standard Webhooks: 24 bytes). Secrets are sealed at rest (`sources/repository.py`)
and never shown again, not even as a fingerprint.
"""

from __future__ import annotations

import base64
import binascii
import secrets

GENERATED_BYTES = 32
MIN_CHOSEN_CHARS = 32
MIN_ISSUED_CHARS = 16
# The Standard Webhooks specification's range for a signing key.
STANDARD_KEY_BYTES = (24, 64)
STANDARD_WEBHOOKS_TOOLS = frozenset({"generic", "formbricks"})
# Tools that issue the secret themselves: it cannot be generated here, only pasted.
ISSUED_BY_TOOL = {
    "delighted": "Delighted's API key",
    "surveymonkey": "your SurveyMonkey app's client secret",
    "formbricks": "the secret Formbricks shows for the webhook (whsec_...)",
}


def generate(tool: str) -> str | None:
    """A fresh secret for `tool`, or None when the tool issues its own."""
    if tool in ISSUED_BY_TOOL:
        return None
    raw = secrets.token_bytes(GENERATED_BYTES)
    if tool in STANDARD_WEBHOOKS_TOOLS:
        return "whsec_" + base64.b64encode(raw).decode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def problem(tool: str, secret: str) -> str | None:
    """Why `secret` will not do for `tool`, or None."""
    if tool in STANDARD_WEBHOOKS_TOOLS:
        low, high = STANDARD_KEY_BYTES
        key = _standard_key(secret)
        if key is None or not low <= len(key) <= high:
            return f"a Standard Webhooks secret is whsec_ followed by base64 of {low}-{high} bytes"
        return None
    least = MIN_ISSUED_CHARS if tool in ISSUED_BY_TOOL else MIN_CHOSEN_CHARS
    if len(secret.strip()) < least:
        return (
            f"the secret must be at least {least} characters; leave it out to have one generated"
            if tool not in ISSUED_BY_TOOL
            else f"{ISSUED_BY_TOOL[tool]} must be at least {least} characters"
        )
    return None


def missing(tool: str) -> str:
    return f"secret is required for {tool}: paste {ISSUED_BY_TOOL[tool]}"


def _standard_key(secret: str) -> bytes | None:
    if not secret.startswith("whsec_"):
        return None
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return None
