"""What every survey-tool adapter shares: the delivery, the verdicts, and the mapping of a tool's
fields onto our answer.

An adapter verifies the tool's signature over the raw bytes (constant-time compare) before it
parses anything, then turns the payload into our generic `ResponseIn` using the source's field
map; thin webhooks (SurveyMonkey, Qualtrics) turn into a `FetchRequest` instead.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from anbefal.common.app import validation_details
from anbefal.common.errors import Unauthenticated, Unprocessable
from anbefal.ingest.schemas import ResponseIn
from anbefal.ingest.sources.config import Source

# Versions derived from a tool's timestamps: seconds since this epoch, times 4, plus the event's
# stage (created 0, updated 1, finished 2). A later state always has a higher version, and the
# figure fits the 32-bit version columns until 2037.
VERSION_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def stage_version(at: datetime, stage: int) -> int:
    return max(1, int((at - VERSION_EPOCH).total_seconds()) * 4 + stage)


@dataclass(frozen=True)
class Delivery:
    """One HTTP delivery exactly as received: the raw bytes are what the tools sign."""

    body: bytes
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str] = field(default_factory=dict)
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    @property
    def content_type(self) -> str:
        return self.header("content-type").split(";")[0].strip().lower()


class SignatureInvalid(Unauthenticated):
    """401: the body is not provably from the tool (bad, missing or stale signature)."""

    CODE = "bad_signature"


class PayloadInvalid(Unprocessable):
    """422: signed, but not an answer we can score; `details` name the fields and why. The
    webhook route keeps the body with this reason and answers with its status."""

    CODE = "invalid_response"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message, details=details)


class MalformedBody(PayloadInvalid):
    """400: the bytes are not the format the tool sends (JSON, form fields)."""

    STATUS, CODE = 400, "malformed_body"


class ScoreMissing(PayloadInvalid):
    """The score question was not answered (skipped, or a partial response): nothing to count.

    Not an error to the tool (a 4xx would make it retry or disable the hook): answered 200 and
    kept with the reason, so a misnamed question shows up for ops and can be replayed."""

    STATUS, CODE = 200, "not_scored"


def load_json(raw: bytes | str, what: str = "body") -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"{what} is not valid JSON: {exc}") from exc


@dataclass(frozen=True)
class Ignored:
    """Signed and understood, but not an answer (an unsubscribe, a partial without the score)."""

    reason: str


@dataclass(frozen=True)
class FetchRequest:
    """A thin webhook: fetch this response from the tool's API, then publish it."""

    survey_id: str
    response_id: str


Parsed = list[ResponseIn] | FetchRequest | Ignored


class Adapter(Protocol):
    tool: str

    def verify(self, delivery: Delivery, source: Source) -> None:
        """Raise SignatureInvalid unless the raw body is signed with the source's secret."""

    def parse(self, delivery: Delivery, source: Source) -> Parsed:
        """The verified body as answers; raise PayloadInvalid naming what is wrong."""


class VendorApi(Protocol):
    async def get_json(
        self, source: Source, segments: tuple[str, ...], headers: dict[str, str]
    ) -> Any:
        """GET the path of `segments` (each one encoded segment) from the source's tool API."""


class FetchingAdapter(Adapter, Protocol):
    # The tool's API may answer 404 for a response it has just announced (not readable yet).
    not_found_while_new: bool

    async def fetch(
        self, api: VendorApi, source: Source, request: FetchRequest
    ) -> list[ResponseIn] | Ignored:
        """Read the response from the tool's API (its errors propagate: retried later)."""


def hmac_digest(key: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    # The one-shot C path: no HMAC object built in Python for every delivery.
    return hmac.digest(key, message, algorithm)


def require_equal(expected: bytes, given: str, *, encoding: str, what: str) -> None:
    """Compare a received signature with the expected digest in constant time."""
    if not given:
        raise SignatureInvalid(f"missing {what}")
    try:
        received = (
            base64.b64decode(given.strip(), validate=True)
            if encoding == "base64"
            else bytes.fromhex(given.strip())
        )
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid(f"{what} is not {encoding}") from exc
    if not hmac.compare_digest(expected, received):
        raise SignatureInvalid(f"{what} does not match the body")


@dataclass
class Submission:
    """A tool's answer in neutral form, before the source's field map is applied."""

    response_id: str
    answered_at: datetime
    fields: dict[str, Any]
    survey_id: str | None = None
    version: int = 1
    # What the tool itself knows about the respondent (used where the map names nothing).
    respondent: dict[str, Any] = field(default_factory=dict)
    # Fields the tool declares, with their type, to refuse a score from the wrong kind of question.
    field_types: dict[str, str] = field(default_factory=dict)


def check_survey(source: Source, survey_id: str | None) -> None:
    if source.survey_ids and survey_id not in source.survey_ids:
        raise PayloadInvalid(
            f"survey {survey_id!r} is not one of this source's surveys",
            [{"field": "survey_id", "message": f"expected one of {list(source.survey_ids)}"}],
        )


def as_score(value: Any, key: str) -> int:
    """The answer to the score question as an int 0-10; tools send numbers or digit strings."""
    if isinstance(value, bool):
        raise PayloadInvalid(
            f"question {key!r} holds a yes/no answer, not a 0-10 score",
            [{"field": key, "message": "not a number"}],
        )
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise PayloadInvalid(
            f"question {key!r} holds {value!r}, not a whole number 0-10",
            [{"field": key, "message": "not a whole number"}],
        )
    if not 0 <= value <= 10:
        raise PayloadInvalid(
            f"question {key!r} holds {value}, outside the declared 0-10 scale",
            [{"field": key, "message": f"{value} is outside 0-10"}],
        )
    return value


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def to_response(submission: Submission, source: Source) -> ResponseIn:
    """Apply the source's field map; the result is validated exactly like the generic API's."""
    check_survey(source, submission.survey_id)
    fields = submission.fields
    score_key = source.fields.score
    if score_key is None:
        raise PayloadInvalid("the source names no score question")
    kind = submission.field_types.get(score_key)
    if kind is not None and kind.lower() not in SCALE_TYPES:
        raise PayloadInvalid(
            f"question {score_key!r} is a {kind} question; only a 0-10 scale is scored",
            [{"field": score_key, "message": f"question type {kind}"}],
        )
    if score_key not in fields or fields[score_key] in (None, ""):
        raise ScoreMissing(
            f"the score question {score_key!r} is not in the answer",
            [{"field": score_key, "message": "missing"}],
        )
    score = as_score(fields[score_key], score_key)
    respondent = {k: _text(v) for k, v in submission.respondent.items()}
    respondent.update({k: _text(fields.get(v)) for k, v in source.fields.respondent.items()})
    doc: dict[str, Any] = {
        "response_id": submission.response_id,
        "version": submission.version,
        "kind": source.kind,
        "score": score,
        "comment": _text(fields.get(source.fields.comment)) if source.fields.comment else None,
        "answered_at": submission.answered_at,
        "survey_id": submission.survey_id,
        "respondent": {k: v for k, v in respondent.items() if v is not None},
        "segments": {
            name: text
            for name, key in source.fields.segments.items()
            if (text := _text(fields.get(key))) is not None
        },
        "owners": {
            role: text
            for role, key in source.fields.owners.items()
            if (text := _text(fields.get(key))) is not None
        },
    }
    try:
        return ResponseIn.model_validate(doc)
    except ValidationError as exc:
        raise PayloadInvalid(
            "the mapped answer has invalid fields", validation_details(exc.errors())
        ) from exc


# Question types (as the tools name them) that are a 0-10 scale; a score from anything else is
# refused rather than guessed at.
SCALE_TYPES = frozenset(
    {"opinion_scale", "nps", "linear_scale", "rating", "number", "net_promoter_score"}
)


def parse_time(value: Any, what: str) -> datetime:
    """An ISO-8601 timestamp (a `Z` suffix allowed) or unix seconds, always aware."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise PayloadInvalid(f"{what} is not a timestamp", [{"field": what, "message": repr(value)}])


def require(doc: Any, *path: str) -> Any:
    """doc[path[0]][path[1]]...; a missing or mistyped step is a PayloadInvalid naming it."""
    current = doc
    for depth, key in enumerate(path):
        if not isinstance(current, dict) or key not in current:
            name = ".".join(path[: depth + 1])
            raise PayloadInvalid(f"{name} is missing", [{"field": name, "message": "missing"}])
        current = current[key]
    return current


def require_str(doc: Any, *path: str) -> str:
    value = require(doc, *path)
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        name = ".".join(path)
        raise PayloadInvalid(f"{name} must be a string", [{"field": name, "message": repr(value)}])
    return str(value)
