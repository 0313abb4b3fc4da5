"""Per theme: how many comments of each category mention it, per segment when asked, and a few
short quotes (pure). For eNPS every count below k is withheld (`withheld`), as figures are."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from anbefal.common.nps import Category, category
from anbefal.scoring.themes.matching import Matcher, quote

CATEGORIES: tuple[Category, ...] = ("promoter", "passive", "detractor")


@dataclass
class Counts:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    def add(self, of: Category) -> None:
        setattr(self, of + "s", getattr(self, of + "s") + 1)


@dataclass
class ThemeSummary:
    name: str
    keywords: tuple[str, ...]
    counts: Counts = field(default_factory=Counts)
    segments: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    quotes: list[tuple[str, Category]] = field(default_factory=list)


def summarise(
    comments: Iterable[tuple[str, int, Mapping[str, str]]],
    matcher: Matcher,
    *,
    by: str | None = None,
    quotes: int = 3,
    quote_chars: int = 160,
) -> list[ThemeSummary]:
    """The themes, largest first. Quotes are the shortest comments of the theme, taken in turn
    from detractors, promoters and passives, so both sides of a theme are heard."""
    out = {t.name: ThemeSummary(t.name, t.keywords) for t in matcher.themes}
    candidates: dict[str, dict[Category, list[str]]] = defaultdict(lambda: defaultdict(list))
    for text, score, segments in comments:
        of = category(score)
        for name in matcher.themes_of(text):
            summary = out[name]
            summary.counts.add(of)
            if by is not None and by in segments:
                summary.segments[segments[by]].add(of)
            candidates[name][of].append(text)
    for name, summary in out.items():
        summary.quotes = _pick(candidates[name], quotes, quote_chars)
    return sorted(out.values(), key=lambda s: (-s.counts.total, s.name))


def _pick(
    by_category: Mapping[Category, Sequence[str]], n: int, chars: int
) -> list[tuple[str, Category]]:
    queues = {
        c: sorted(set(by_category.get(c, ())), key=len)
        for c in ("detractor", "promoter", "passive")
    }
    picked: list[tuple[str, Category]] = []
    while len(picked) < n and any(queues.values()):
        for of, queue in queues.items():
            if queue and len(picked) < n:
                picked.append((quote(queue.pop(0), chars), of))  # type: ignore[arg-type]
    return picked


def withheld(count: int, k: int | None) -> int | None:
    """A count as a reader may see it: eNPS (`k` given) withholds any below k, zero too."""
    return count if k is None or count >= k else None
