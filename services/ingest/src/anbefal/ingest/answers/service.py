"""The generic API's work on a parsed body: each item validated on its own, and the per-item
results of the answer. The route reads the body and publishes; this decides what each item got."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from anbefal.common.app import validation_details
from anbefal.ingest.intake.pipeline import Outcome
from anbefal.ingest.schemas import BatchIn, ResponseIn

MAX_BATCH = 500
_ITEMS = TypeAdapter(list[ResponseIn])


def validate_items(doc: Any) -> tuple[list[ResponseIn | None], list[list[dict[str, Any]]]]:
    """Each item of a batch on its own: a bad item does not sink the good ones.

    Returns the valid items (None where invalid) and each item's error details. A body that is
    neither an answer nor a batch raises ValidationError."""
    if not (isinstance(doc, dict) and "responses" in doc):
        return [ResponseIn.model_validate(doc)], [[]]
    raw = doc["responses"]
    history = doc.get("history", False)
    envelope_ok = set(doc) <= {"responses", "history"} and isinstance(history, bool)
    if not envelope_ok or not isinstance(raw, list) or not 1 <= len(raw) <= MAX_BATCH:
        # The envelope's own rules (known keys, 1..500 items) refuse the whole body.
        BatchIn.model_validate(doc)
        raise AssertionError("BatchIn accepted an envelope the check refused")
    if history:
        # The envelope's flag marks every item, as if each said so itself.
        raw = [{**entry, "history": True} if isinstance(entry, dict) else entry for entry in raw]
    try:
        # The common case, all valid, in one call (a Python loop of 500 validations is slower).
        valid: list[ResponseIn | None] = list(_ITEMS.validate_python(raw))
        return valid, [[] for _ in valid]
    except ValidationError:
        pass
    items: list[ResponseIn | None] = []
    errors: list[list[dict[str, Any]]] = []
    for index, entry in enumerate(raw):
        try:
            items.append(ResponseIn.model_validate(entry))
            errors.append([])
        except ValidationError as exc:
            items.append(None)
            errors.append(
                [
                    {**d, "field": f"responses.{index}.{d['field']}"}
                    for d in validation_details(exc.errors())
                ]
            )
    return items, errors


# Ingest keeps no name or contact of an employee who answered an eNPS survey.
ENPS_DROPPED = ("name", "email", "phone")


def _kept_item(item: Any) -> Any:
    if not (isinstance(item, dict) and item.get("kind") == "enps"):
        return item
    respondent = item.get("respondent")
    if not isinstance(respondent, dict):
        return item
    kept = {k: v for k, v in respondent.items() if k not in ENPS_DROPPED}
    return {**item, "respondent": kept}


def holds_enps(doc: Any) -> bool:
    """Whether a (parsed) body holds an eNPS answer, valid or not."""
    raw = doc.get("responses") if isinstance(doc, dict) else None
    docs = raw if isinstance(raw, list) else [doc]
    return any(isinstance(d, dict) and d.get("kind") == "enps" for d in docs)


def kept_body(doc: Any, items: list[ResponseIn | None]) -> Any:
    """What of a refused body is kept for ops: of a batch only the refused items (the accepted
        ones are on their way already; `details` still name the items by their place in the body
    sent), and eNPS items without the respondent's name and contact."""
    if isinstance(doc, dict) and isinstance(doc.get("responses"), list):
        raw = doc["responses"]
        # No items: the envelope itself was refused, every item with it.
        refused = [i for i, item in enumerate(items) if item is None] if items else range(len(raw))
        return {**doc, "responses": [_kept_item(raw[i]) for i in refused]}
    return _kept_item(doc)


def item_results(
    items: list[ResponseIn | None], errors: list[list[dict[str, Any]]], outcomes: Iterable[Outcome]
) -> list[dict[str, Any]]:
    """One result per item of the body, in its order: its outcome, or why it was refused.
    `outcomes` are the valid items' in their order."""
    published = iter(outcomes)
    # Plain dicts and orjson: the response of a 500-answer batch is on the hot path. Its shape
    # is `Accepted` (the OpenAPI model); tests check the two agree.
    results: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if item is None:
            results.append({"index": index, "status": "rejected", "errors": errors[index]})
            continue
        outcome = next(published)
        results.append(
            {
                "index": index,
                "status": outcome.status,
                "response_id": item.response_id,
                "event_id": str(outcome.event.event_id),
                "version": item.version,
            }
        )
    return results


def summary(
    results: list[dict[str, Any]], rejected_id: int | None, trace_id: str
) -> dict[str, Any]:
    counts = Counter(r["status"] for r in results)
    return {
        "accepted": counts["accepted"] + counts["duplicate"],
        "new": counts["accepted"],
        "duplicates": counts["duplicate"],
        "rejected": counts["rejected"],
        "rejected_id": rejected_id,
        "results": results,
        "trace_id": trace_id,
    }
