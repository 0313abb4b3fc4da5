"""A tenant's survey-tool sources: which tool posts, how it signs, and where the answer lives.

Pure: the configuration model and its validation. We never guess which question is the NPS
question: the source names it, and declares its scale; only a 0-10 question is scored.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from anbefal.common.events import GENERIC_API, Kind
from anbefal.ingest.sources import secrets
from anbefal.ingest.sources.vendors import default_base_url, vendor_origin

Tool = Literal[
    "generic",
    "typeform",
    "tally",
    "delighted",
    "formbricks",
    "jotform",
    "surveymonkey",
    "qualtrics",
]
TOOLS: tuple[str, ...] = Tool.__args__  # type: ignore[attr-defined]
# Tools whose webhook carries only ids: the answer is fetched from the tool's API.
FETCHING_TOOLS = frozenset({"surveymonkey", "qualtrics"})
SOURCE_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"

FieldKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]
SegmentName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
RespondentField = Literal["id", "name", "email", "phone", "locale", "account_id"]
OwnerField = Literal["salesperson", "director"]


class FieldMap(BaseModel):
    """Which of the tool's fields (question id/ref/key or hidden field) feeds each part of an
    answer. Keys are the tool's own: Typeform `field.ref` or `field.id`, Tally `key` or label,
    Formbricks question ids, Jotform `q3_howLikely` or `howLikely`, SurveyMonkey question ids,
    Qualtrics `QID3`; hidden fields by their name."""

    model_config = ConfigDict(extra="forbid")

    score: FieldKey | None = Field(
        default=None, description="The NPS/eNPS question (fixed for Delighted: its score)"
    )
    comment: FieldKey | None = None
    respondent: dict[RespondentField, FieldKey] = Field(default_factory=dict)
    segments: dict[SegmentName, FieldKey] = Field(default_factory=dict, max_length=20)
    owners: dict[OwnerField, FieldKey] = Field(default_factory=dict)


class SourceIn(BaseModel):
    """What an admin sends to create or replace a source (`PUT .../sources/{name}`)."""

    model_config = ConfigDict(extra="forbid")

    tool: Tool
    kind: Kind = "nps"
    secret: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None,
        description=(
            "Signing secret (Standard Webhooks `whsec_...`, Typeform/Tally signing secret, "
            "Delighted API key, SurveyMonkey `client_secret`, Qualtrics `sharedKey`; for "
            "Jotform the URL token). Leave it out to have one generated (32 random bytes, "
            "shown once in `generated_secret`), or to keep the current one of an existing "
            "source; a tool that issues its own (Delighted, SurveyMonkey, Formbricks) needs "
            "it pasted. At least 32 characters when chosen, 16 when issued by the tool. "
            "Never returned."
        ),
    )
    scale_min: int = Field(default=0, description="The score question's declared lowest value")
    scale_max: int = Field(default=10, description="The score question's declared highest value")
    fields: FieldMap = Field(default_factory=FieldMap)
    survey_ids: list[FieldKey] = Field(
        default_factory=list, description="Only these forms/surveys; empty: any"
    )
    # Thin-webhook tools: where and how to fetch the answer.
    api_base_url: str | None = Field(
        default=None,
        description=(
            "SurveyMonkey/Qualtrics API, as the vendor documents it or the bare host: "
            "`https://api.surveymonkey.com/v3` (the default; or api.eu.surveymonkey.com, "
            "api.surveymonkey.ca), `https://<datacenter>.qualtrics.com/API/v3`. Only the "
            "vendor's own hosts, over https"
        ),
    )
    api_token: str | None = Field(
        default=None, description="API token for the fetch. Never returned"
    )
    client_id: str | None = Field(default=None, description="SurveyMonkey app client id")

    @model_validator(mode="after")
    def _check(self) -> SourceIn:
        if (self.scale_min, self.scale_max) != (0, 10):
            raise ValueError(
                f"the score question is declared on {self.scale_min}-{self.scale_max}; only a "
                "0-10 question can be scored as NPS or eNPS"
            )
        if self.tool not in ("generic", "delighted") and not self.fields.score:
            raise ValueError(
                f"fields.score must name the {self.tool} question that holds the score"
            )
        if self.tool in FETCHING_TOOLS:
            base = self.api_base_url or default_base_url(self.tool)
            if not (base and self.api_token):
                raise ValueError(
                    f"{self.tool} sends only ids: api_base_url and api_token are required"
                )
            self.api_base_url = vendor_origin(self.tool, base)
        elif self.api_base_url is not None:
            raise ValueError("api_base_url is only for the tools whose answer is fetched")
        if self.tool == "surveymonkey" and not self.client_id:
            raise ValueError(
                "surveymonkey signs with client_id&client_secret: client_id is required"
            )
        if self.secret is not None and (why := secrets.problem(self.tool, self.secret)):
            raise ValueError(why)
        if self.tool == "generic" and self.fields != FieldMap():
            raise ValueError("generic sources post our own format: fields must be empty")
        return self


class Source(BaseModel):
    """A stored source, as the adapters use it."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    name: str
    tool: Tool
    kind: Kind
    # Kept out of repr: a logged or raised Source never shows its secrets.
    secret: str = Field(repr=False)
    fields: FieldMap
    survey_ids: tuple[str, ...] = ()
    api_base_url: str | None = None
    api_token: str | None = Field(default=None, repr=False)
    client_id: str | None = None

    @classmethod
    def build(cls, tenant: str, name: str, body: SourceIn, secret: str | None = None) -> Source:
        """`secret` when the body has none (generated, or the source's current one)."""
        resolved = body.secret or secret
        if resolved is None:
            raise ValueError("the source has no secret")
        return cls(
            tenant=tenant,
            name=name,
            tool=body.tool,
            kind=body.kind,
            secret=resolved,
            fields=body.fields,
            survey_ids=tuple(body.survey_ids),
            api_base_url=body.api_base_url,
            api_token=body.api_token,
            client_id=body.client_id,
        )

    @property
    def event_tool(self) -> str:
        """The tool named in event ids: GENERIC_API for the generic API (its ids predate
        sources), the source's tool otherwise."""
        return GENERIC_API if self.name == GENERIC_API else self.tool

    def public_config(self) -> dict[str, object]:
        """The configuration without secrets: what is stored as JSON and what the API shows."""
        return {
            "tool": self.tool,
            "kind": self.kind,
            "scale_min": 0,
            "scale_max": 10,
            "fields": self.fields.model_dump(),
            "survey_ids": list(self.survey_ids),
            "api_base_url": self.api_base_url,
            "client_id": self.client_id,
        }

    @classmethod
    def from_row(
        cls, tenant: str, name: str, config: dict[str, object], secret: str, api_token: str | None
    ) -> Source:
        return cls.model_validate(
            {**config, "tenant": tenant, "name": name, "secret": secret, "api_token": api_token}
        )
