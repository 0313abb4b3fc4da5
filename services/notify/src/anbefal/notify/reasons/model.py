"""A tenant's reason codes (pure): the defaults, what a valid list is, and the check of one
chosen code."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from anbefal.common.errors import Unprocessable

CODE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    da: Label
    en: Label


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code = Field(description="Stored on the task and counted in the figures")
    labels: Labels = Field(description="What staff see, in Danish and English")


class Reasons(BaseModel):
    """A tenant's reason codes in the order the complete form shows them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reasons: list[Reason] = Field(min_length=1, max_length=50)

    @field_validator("reasons")
    @classmethod
    def _codes_once(cls, reasons: list[Reason]) -> list[Reason]:
        codes = [r.code for r in reasons]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"each code once; repeated: {', '.join(twice)}")
        return reasons

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]

    def label(self, code: str, locale: str | None) -> str:
        """The code's label in `locale` (English otherwise); a code no longer configured is
        shown as it is stored."""
        for reason in self.reasons:
            if reason.code == code:
                return reason.labels.da if (locale or "")[:2] == "da" else reason.labels.en
        return code

    def check(self, code: str | None) -> str | None:
        """`code` if it is one of these (or None: no reason given); 422 naming the field and
        the allowed codes otherwise."""
        if code is None or code in self.codes:
            return code
        allowed = self.codes
        raise Unprocessable(
            f"unknown reason {code!r}; one of {', '.join(allowed)}",
            code="unknown_reason",
            details=[{"field": "reason", "message": "not a reason code", "allowed": allowed}],
        )


def _reason(code: str, da: str, en: str) -> Reason:
    return Reason(code=code, labels=Labels(da=da, en=en))


DEFAULTS = Reasons(
    reasons=[
        _reason("price", "Pris", "Price"),
        _reason("product", "Produkt", "Product"),
        _reason("support", "Kundeservice", "Support"),
        _reason("delivery", "Levering", "Delivery"),
        _reason("contact_person", "Kontaktperson", "Contact person"),
        _reason("other", "Andet", "Other"),
    ]
)
