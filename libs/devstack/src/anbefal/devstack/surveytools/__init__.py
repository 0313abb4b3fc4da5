"""Survey tools as tests and benchmarks meet them: realistic payloads, signed exactly as each tool
signs (`deliveries`, `signing`), and a local fake of the SurveyMonkey and Qualtrics APIs that thin
webhooks are fetched from (`fake_api`).

The payload shapes follow the tools' documented field names; the values are invented.
"""

from anbefal.devstack.surveytools.deliveries import (
    delighted,
    formbricks,
    jotform,
    qualtrics,
    surveymonkey,
    tally,
    typeform,
)
from anbefal.devstack.surveytools.fake_api import FakeToolApi
from anbefal.devstack.surveytools.signing import (
    TYPEFORM_FORM_ID,
    WHSEC,
    Signed,
    generic,
    standard_webhooks,
)

__all__ = [
    "TYPEFORM_FORM_ID",
    "WHSEC",
    "FakeToolApi",
    "Signed",
    "delighted",
    "formbricks",
    "generic",
    "jotform",
    "qualtrics",
    "standard_webhooks",
    "surveymonkey",
    "tally",
    "typeform",
]
