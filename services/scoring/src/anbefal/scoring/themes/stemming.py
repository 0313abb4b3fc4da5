"""Words and their stems, Danish and English at once (pure).

A comment's language is not known (a Danish customer may write English), so every word is
stemmed by both stemmers and matches a keyword when either stem does. Stems are cached: the
words of a tenant's comments repeat far more than they vary."""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]

_WORD = re.compile(r"[^\W\d_]+")
_DANISH = snowballstemmer.stemmer("danish")
_ENGLISH = snowballstemmer.stemmer("english")


def words(text: str) -> list[str]:
    """The text's words (letters only), case-folded."""
    return _WORD.findall(text.casefold())


@lru_cache(maxsize=100_000)
def stems(word: str) -> frozenset[str]:
    """A case-folded word's Danish and English stems."""
    return frozenset((_DANISH.stemWord(word), _ENGLISH.stemWord(word)))


def stemmed(text: str) -> list[frozenset[str]]:
    return [stems(w) for w in words(text)]
