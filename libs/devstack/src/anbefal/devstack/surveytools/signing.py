"""How survey tools sign what they send: the request shape, the shared helpers, and Standard
Webhooks (Formbricks, Svix, our Apps Script, the generic webhook source)."""

from __future__ import annotations

import base64
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

TYPEFORM_FORM_ID = "aBc123"
WHSEC = "whsec_" + base64.b64encode(b"anbefal-test-standard-webhooks!!").decode()


@dataclass(frozen=True)
class Signed:
    """A request as the tool would send it."""

    body: bytes
    headers: dict[str, str]
    query: str = ""


def json_body(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def b64_hmac(key: bytes, message: bytes, algorithm: str = "sha256") -> str:
    return base64.b64encode(hmac.new(key, message, algorithm).digest()).decode()


def standard_webhooks(secret: str, body: bytes, *, at: float | None = None) -> dict[str, str]:
    """Standard Webhooks headers for `body` (Formbricks, Svix, our Apps Script)."""
    msg_id = f"msg_{uuid.uuid4().hex}"
    timestamp = str(int(time.time() if at is None else at))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = b64_hmac(key, f"{msg_id}.{timestamp}.".encode() + body)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": f"v1,{signature}",
    }


def generic(secret: str, answer: dict[str, Any], *, at: float | None = None) -> Signed:
    body = json_body(answer)
    return Signed(body, standard_webhooks(secret, body, at=at))
