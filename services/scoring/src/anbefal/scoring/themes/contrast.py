"""Key phrases that set detractors apart from promoters, by a TF-IDF contrast (pure).

Each comment is a bag of terms: the stems of its words that are not stop words, and each pair
of such neighbouring words. A term's weight for one side is how much more often the side's
comments hold it than the other side's (document frequency, each side as a share of its own
comments), times its inverse document frequency over both sides, so a word every comment
holds weighs nothing and one a few detractors keep repeating weighs most. A term needs at least
`min_count` comments of its side. A term is shown as the surface form its side wrote most, and
no stem is shown twice (a word is shown inside the pair that holds most of its mentions).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from anbefal.scoring.themes.matching import Matcher
from anbefal.scoring.themes.stemming import stems, words

STOP_WORDS = frozenset(
    # Danish
    "af alle alt andet at bare blev bliver da de dem den denne der det dette din disse du efter "
    "eller en end er et for fordi fra fik få gang har havde hele hendes hun hvad hvis hvor i "
    "ikke ind ingen jeg kan kom kun lidt man mange med meget men mere mig min mod må ned nej "
    "noget nok nu når og også om op os over på sig sin skal som så til ud under var vi vil "
    "ville vores været "
    # English
    "a about after again all also always am an and any are as at be been but by can could did "
    "do does for from get got had has have he her him his how i if in into is it its just me "
    "more most my no not now of on once one only or our out over she so some than that the "
    "their them then there they this to too up us very was we were what when which who will "
    "with would you your".split()
)


@dataclass(frozen=True)
class Phrases:
    detractors: list[str]
    promoters: list[str]


Term = tuple[str, ...]  # one stem, or two


def _terms(comment: str) -> dict[Term, str]:
    """A comment's terms, each with the words it was written as."""
    kept = [w for w in words(comment) if w not in STOP_WORDS and len(w) > 1]
    keys = [min(stems(w)) for w in kept]  # one stem per word, the same every time
    out: dict[Term, str] = {}
    for i, (key, word) in enumerate(zip(keys, kept, strict=True)):
        out.setdefault((key,), word)
        if i + 1 < len(kept):
            out.setdefault((key, keys[i + 1]), f"{word} {kept[i + 1]}")
    return out


def _side(comments: Iterable[str]) -> tuple[int, Counter[Term], dict[Term, Counter[str]]]:
    count, df, forms = 0, Counter[Term](), defaultdict[Term, Counter[str]](Counter)
    for comment in comments:
        count += 1
        for term, form in _terms(comment).items():
            df[term] += 1
            forms[term][form] += 1
    return count, df, forms


def _distinct(ranked: Sequence[Term], df: Counter[Term]) -> list[Term]:
    """`ranked` without repeats: a word is shown as the pair that holds at least half of its
    mentions ("fakturaen forkert", not "fakturaen" beside it), and no stem twice."""
    pairs = [term for term in ranked if len(term) == 2]
    chosen: list[Term] = []
    used: set[str] = set()
    for term in ranked:
        if len(term) == 1:
            wider = (p for p in pairs if term[0] in p and 2 * df[p] >= df[term])
            term = next(wider, term)
        if used.isdisjoint(term):
            chosen.append(term)
            used.update(term)
    return chosen


def key_phrases(
    detractors: Sequence[str],
    promoters: Sequence[str],
    *,
    limit: int = 10,
    min_count: int = 2,
    known: Matcher | None = None,
) -> Phrases:
    """The `limit` terms that most set each side apart; with `known`, terms that share a stem
    with a named theme's keywords are left out (they are that theme's already)."""
    n_d, df_d, forms_d = _side(detractors)
    n_p, df_p, forms_p = _side(promoters)
    total = n_d + n_p
    taken = known.stems if known is not None else frozenset()

    def best(n: int, df: Counter[Term], other_n: int, other: Counter[Term],
             forms: dict[Term, Counter[str]]) -> list[str]:  # fmt: skip
        scored = []
        for term, count in df.items():
            if count < min_count or any(stem in taken for stem in term):
                continue
            lift = count / n - (other[term] / other_n if other_n else 0.0)
            if lift <= 0:
                continue
            idf = math.log((total + 1) / (count + other[term] + 1)) + 1
            scored.append((-lift * idf, -count, term))
        scored.sort()
        chosen = _distinct([term for _, _, term in scored], df)
        return [forms[term].most_common(1)[0][0] for term in chosen[:limit]]

    return Phrases(
        detractors=best(n_d, df_d, n_p, df_p, forms_d) if n_d else [],
        promoters=best(n_p, df_p, n_d, df_d, forms_p) if n_p else [],
    )
