"""The themes API's request and response models."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from anbefal.scoring.answers_api.schemas import PeriodOut
from anbefal.scoring.schemas import SuppressedReason
from anbefal.scoring.themes.stemming import words


class ThemeIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    keywords: list[str] = Field(min_length=1, max_length=50)

    @field_validator("keywords")
    @classmethod
    def _words(cls, keywords: list[str]) -> list[str]:
        for keyword in keywords:
            if not words(keyword) or len(keyword) > 60:
                raise ValueError(f"keyword {keyword!r} needs a word (letters), at most 60 chars")
        return keywords


class ThemesConfig(BaseModel):
    themes: list[ThemeIn] = Field(max_length=40)

    @field_validator("themes")
    @classmethod
    def _unique(cls, themes: list[ThemeIn]) -> list[ThemeIn]:
        names = [t.name.casefold() for t in themes]
        if len(set(names)) != len(names):
            raise ValueError("two themes have the same name")
        return themes


class ThemesConfigOut(ThemesConfig):
    default: bool = Field(description="whether these are the built-in themes")


class CountsOut(BaseModel):
    """Comments that mention a theme; eNPS: null where fewer than k (zero too)."""

    total: int | None
    promoters: int | None
    passives: int | None
    detractors: int | None


class SegmentCountsOut(CountsOut):
    value: str


class QuoteOut(BaseModel):
    text: str
    category: str | None = Field(description="NPS only")


class ThemeOut(CountsOut):
    name: str
    keywords: list[str]
    segments: list[SegmentCountsOut] | None = Field(description="with `by`: per segment value")
    quotes: list[QuoteOut]


class ProposedOut(BaseModel):
    """Key phrases that set one side apart from the other, outside the named themes."""

    detractors: list[str]
    promoters: list[str]


class ThemesOut(BaseModel):
    tenant: str
    kind: str
    period: PeriodOut
    filter: list[str]
    comments: int = Field(description="the comments read (the newest, at most 20 000)")
    suppressed_reason: SuppressedReason | None = None
    themes: list[ThemeOut]
    proposed: ProposedOut
