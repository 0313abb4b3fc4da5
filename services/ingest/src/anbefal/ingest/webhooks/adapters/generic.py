"""Our own format signed with Standard Webhooks (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256(id.timestamp.body)>`, ±5 minutes). Any sender that
speaks Standard Webhooks (Svix and others) and the Google Forms Apps Script use it."""

from __future__ import annotations

from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook

from anbefal.common.app import validation_details
from anbefal.ingest.schemas import parse_items
from anbefal.ingest.sources.config import Source
from anbefal.ingest.webhooks.adapters.base import (
    Delivery,
    Parsed,
    PayloadInvalid,
    SignatureInvalid,
    check_survey,
    load_json,
)


def verify_standard(delivery: Delivery, secret: str) -> None:
    """Standard Webhooks verification by the reference library (constant time, 5-minute window).

    The library raises assorted errors on malformed input (bad base64, a signature without a
    comma, non-UTF-8 bodies); every one of them means "not verified"."""
    try:
        delivery.body.decode()
    except UnicodeDecodeError as exc:
        # The reference library signs text; a body that is not UTF-8 cannot be verified by it.
        raise SignatureInvalid("body is not UTF-8, so its signature cannot be checked") from exc
    try:
        Webhook(secret).verify(delivery.body, dict(delivery.headers), json_parse=False)
    except Exception as exc:
        raise SignatureInvalid(f"Standard Webhooks signature rejected: {exc}") from exc


class GenericAdapter:
    tool = "generic"

    def verify(self, delivery: Delivery, source: Source) -> None:
        verify_standard(delivery, source.secret)

    def parse(self, delivery: Delivery, source: Source) -> Parsed:
        doc = load_json(delivery.body)
        try:
            items = parse_items(doc)
        except ValidationError as exc:
            raise PayloadInvalid(
                "the answer has invalid fields", validation_details(exc.errors())
            ) from exc
        for item in items:
            check_survey(source, item.survey_id)
        # Our own format says its kind itself (one generic source may carry NPS and eNPS).
        return list(items)


ADAPTER = GenericAdapter()
