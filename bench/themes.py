"""Themes: how long theme extraction takes over 100,000 comments, beside just stemming them.

Generates realistic comments in Danish and English (a fixed seed: templates about price,
support, delivery, quality, contact persons and products, with names, amounts and filler, some
about none of them), then times, each from a cold stem cache, in this process (no database:
the themes API's own work after its one query):

1. baseline: every comment split into words and each word stemmed (Danish and English), the
   least any stem-based matching must do;
2. matching: `Matcher.themes_of` with the built-in themes over every comment;
3. the whole summary: `summarise` (matching, counts per category and department, quotes);
4. the key phrases: `key_phrases`, the TF-IDF contrast of detractors against promoters.

Each is printed with comments per second and as a ratio to the baseline.

    uv run python bench/themes.py                      # 100,000 comments
    uv run python bench/themes.py --comments 20000     # a quicker look
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

from anbefal.scoring.themes.catalogue import DEFAULT_THEMES
from anbefal.scoring.themes.contrast import key_phrases
from anbefal.scoring.themes.matching import Matcher
from anbefal.scoring.themes.stemming import stemmed, stems
from anbefal.scoring.themes.summary import summarise

# (template, lowest score, highest score): complaints come from detractors, praise from promoters.
DANISH = [
    ("Ventetiden på support var alt for lang, {filler}", 0, 6),
    ("Prisen er for høj i forhold til {other}", 2, 8),
    ("Leveringen var forsinket {n} dage, {filler}", 0, 6),
    ("Fantastisk service fra {name}, {filler}", 9, 10),
    ("Vores kontaktperson {name} er altid hurtig til at svare", 8, 10),
    ("Rigtig god kvalitet i produkterne, {filler}", 8, 10),
    ("Alt for dyrt, og fakturaen var forkert", 0, 5),
    ("Produktet gik i stykker efter {n} uger", 0, 4),
    ("Tak for en god oplevelse, {filler}", 7, 10),
    ("{name} ringede tilbage samme dag, det satte vi pris på", 8, 10),
]
ENGLISH = [
    ("Waiting times on support were far too long, {filler_en}", 0, 6),
    ("The price is too high compared to {other}", 2, 8),
    ("Delivery was {n} days late and nobody called back", 0, 5),
    ("Excellent support from {name}, {filler_en}", 9, 10),
    ("Our contact person {name} always answers quickly", 8, 10),
    ("Great quality, the product just works", 8, 10),
    ("Too expensive for what we get", 0, 6),
    ("Thanks for a smooth experience, {filler_en}", 7, 10),
]
FILLER = [
    "men ellers fint", "det må I gøre bedre", "vi overvejer at skifte", "helt i orden",
    "det var en skuffelse", "vi anbefaler jer gerne", "især i december",
]  # fmt: skip
FILLER_EN = ["otherwise fine", "please improve", "we may switch", "would recommend"]
NAMES = ["Mette", "Lars", "Sofie", "Jens", "Anna", "Mikkel", "Tom", "Sarah"]
OTHER = ["konkurrenterne", "sidste år", "markedet", "the competition", "last year"]


def comments(count: int, seed: int = 7) -> list[tuple[str, int, dict[str, str]]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        template, low, high = rnd.choice(DANISH if rnd.random() < 0.7 else ENGLISH)
        text = template.format(
            filler=rnd.choice(FILLER), filler_en=rnd.choice(FILLER_EN), name=rnd.choice(NAMES),
            other=rnd.choice(OTHER), n=rnd.randint(2, 14),
        )  # fmt: skip
        department = rnd.choice(["Support", "Sales", "Logistics", "Finance"])
        out.append((text, rnd.randint(low, high), {"department": department}))
    return out


def timed(label: str, work: Callable[[], object], n: int, baseline: float | None) -> float:
    stems.cache_clear()
    start = time.perf_counter()
    work()
    took = time.perf_counter() - start
    ratio = "" if baseline is None else f"  {took / baseline:5.2f}x the baseline"
    print(f"{label:<44} {took * 1000:9.1f} ms  {n / took:10,.0f} comments/s{ratio}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=100_000)
    args = parser.parse_args()
    rows = comments(args.comments)
    texts = [text for text, _, _ in rows]
    n = len(rows)
    matcher = Matcher(DEFAULT_THEMES)
    print(f"{n:,} comments, {len(matcher.themes)} themes, cold stem cache for each figure")
    base = timed(
        "baseline: split and stem every word", lambda: [stemmed(t) for t in texts], n, None
    )
    timed(
        "matching: themes_of every comment", lambda: [matcher.themes_of(t) for t in texts], n, base
    )
    timed(
        "summary: counts, by department, quotes",
        lambda: summarise(rows, matcher, by="department"), n, base,
    )  # fmt: skip
    detractors = [t for t, s, _ in rows if s <= 6]
    promoters = [t for t, s, _ in rows if s >= 9]
    phrases: list[object] = []
    timed(
        "key phrases: TF-IDF contrast",
        lambda: phrases.append(key_phrases(detractors, promoters, known=matcher)), n, base,
    )  # fmt: skip
    print(f"proposed: {phrases[0]}")


if __name__ == "__main__":
    main()
