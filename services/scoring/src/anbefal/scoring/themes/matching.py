"""Which themes a comment is about, by stems (pure): a keyword matches where each of its words
shares a stem with the comment's words in the same order ("contact person", not "person")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from anbefal.scoring.themes.catalogue import Theme
from anbefal.scoring.themes.stemming import stemmed, words


class Matcher:
    def __init__(self, themes: Iterable[Theme]) -> None:
        self.themes = tuple(themes)
        # Per theme: each keyword as its words' stem sets.
        self._keywords = [
            (t.name, [stemmed(k) for k in t.keywords if words(k)]) for t in self.themes
        ]
        self.stems: frozenset[str] = frozenset(
            s for _, keywords in self._keywords for k in keywords for w in k for s in w
        )

    def themes_of(self, comment: str) -> list[str]:
        text = stemmed(comment)
        if not text:
            return []
        present = frozenset().union(*text)
        return [
            name
            for name, keywords in self._keywords
            if any(_occurs(k, text, present) for k in keywords)
        ]


def _occurs(
    keyword: Sequence[frozenset[str]], text: Sequence[frozenset[str]], present: frozenset[str]
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
