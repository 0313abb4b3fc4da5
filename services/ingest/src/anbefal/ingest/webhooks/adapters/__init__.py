"""One module per survey tool; `ADAPTERS` maps the tool name a source declares to its adapter."""

from __future__ import annotations

from anbefal.ingest.webhooks.adapters import (
    delighted,
    formbricks,
    generic,
    jotform,
    qualtrics,
    surveymonkey,
    tally,
    typeform,
)
from anbefal.ingest.webhooks.adapters.base import Adapter, FetchingAdapter

ADAPTERS: dict[str, Adapter] = {
    "generic": generic.ADAPTER,
    "typeform": typeform.ADAPTER,
    "tally": tally.ADAPTER,
    "delighted": delighted.ADAPTER,
    "formbricks": formbricks.ADAPTER,
    "jotform": jotform.ADAPTER,
    "surveymonkey": surveymonkey.ADAPTER,
    "qualtrics": qualtrics.ADAPTER,
}
FETCHERS: dict[str, FetchingAdapter] = {
    "surveymonkey": surveymonkey.ADAPTER,
    "qualtrics": qualtrics.ADAPTER,
}
