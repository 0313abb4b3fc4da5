"""Which themes a comment is about, by stems (pure): a keyword matches where each of its words
shares a stem with the comment's words in the same order ("contact person", not "person")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from anbefal.scoring.themes.catalogue import Theme
from anbefal.scoring.themes.stemming import stemmed


class Matcher:
    """The themes, indexed by stem: a comment costs one dictionary look-up per stem it holds,
    however many keywords there are; a phrase is walked only when its first word is there."""

    def __init__(self, themes: Iterable[Theme]) -> None:
        self.themes = tuple(themes)
        self._single: dict[str, set[str]] = defaultdict(set)
        self._phrases: dict[str, list[tuple[str, list[frozenset[str]]]]] = defaultdict(list)
        for theme in self.themes:
            for keyword in theme.keywords:
                parts = stemmed(keyword)
                for stem in parts[0] if parts else ():
                    if len(parts) == 1:
                        self._single[stem].add(theme.name)
                    else:
                        self._phrases[stem].append((theme.name, parts))
        self.stems: frozenset[str] = frozenset(
            s for t in self.themes for k in t.keywords for w in stemmed(k) for s in w
        )

    def themes_of(self, comment: str) -> list[str]:
        text = stemmed(comment)
        present: set[str] = set().union(*text) if text else set()
        hits: set[str] = set()
        for stem in present:
            hits.update(self._single.get(stem, ()))
            for name, phrase in self._phrases.get(stem, ()):
                if name not in hits and _occurs(phrase, text, present):
                    hits.add(name)
        return [t.name for t in self.themes if t.name in hits]


def _occurs(
    keyword: Sequence[frozenset[str]], text: Sequence[frozenset[str]], present: set[str]
) -> bool:
    if not all(w & present for w in keyword):
        return False  # the common case, decided without walking the text
    if len(keyword) == 1:
        return True
    span = len(keyword)
    return any(
        all(keyword[j] & text[i + j] for j in range(span)) for i in range(len(text) - span + 1)
    )


def quote(comment: str, limit: int = 160) -> str:
    """The comment cut to at most `limit` characters at a word, marked with an ellipsis."""
    text = " ".join(comment.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:-")
    return cut + "…"
