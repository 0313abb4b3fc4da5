"""Themes, pure: comments in Danish and English grouped by the stems of a theme's keywords, and
the key phrases that set detractors apart from promoters (a TF-IDF contrast)."""

from __future__ import annotations

from anbefal.scoring.themes.catalogue import DEFAULT_THEMES, Theme
from anbefal.scoring.themes.contrast import key_phrases
from anbefal.scoring.themes.matching import Matcher, quote

DANISH = [
    (2, "Ventetiden på support var alt for lang"),
    (3, "Prisen er for høj i forhold til konkurrenterne"),
    (4, "Alt for dyrt, og leveringen var forsinket to gange"),
    (1, "Forsinket levering igen, og ingen ringede tilbage"),
    (5, "Priserne er steget uden varsel"),
    (10, "Fantastisk service fra Mette, hun løste det hele"),
    (9, "Vores kontaktperson er altid hurtig til at svare"),
    (10, "Rigtig god kvalitet i produkterne"),
    (9, "Hurtig levering og venlig kontaktperson"),
]
ENGLISH = [
    (2, "Waiting times on support were far too long"),
    (3, "The price is too high for what we get"),
    (1, "Delivery was late again and nobody called back"),
    (4, "Late deliveries, twice this quarter"),
    (10, "Great quality, the product just works"),
    (9, "Our contact person is always quick to answer"),
    (10, "Excellent support from Tom, solved in minutes"),
]


def names(matcher: Matcher, comment: str) -> set[str]:
    return set(matcher.themes_of(comment))


def test_danish_comments_fall_into_the_default_themes() -> None:
    m = Matcher(DEFAULT_THEMES)
    assert names(m, "Ventetiden på support var alt for lang") == {"Support"}
    assert names(m, "Prisen er for høj i forhold til konkurrenterne") == {"Pris"}
    assert names(m, "Priserne er steget uden varsel") == {"Pris"}
    assert names(m, "Alt for dyrt, og leveringen var forsinket to gange") == {"Pris", "Levering"}
    assert names(m, "Fantastisk service fra Mette, hun løste det hele") == {"Support"}
    assert names(m, "Vores kontaktperson er altid hurtig til at svare") == {"Kontaktperson"}
    assert names(m, "Rigtig god kvalitet i produkterne") == {"Kvalitet", "Produkt"}
    assert names(m, "Tak for en god oplevelse") == set()


def test_english_comments_fall_into_the_same_themes() -> None:
    m = Matcher(DEFAULT_THEMES)
    assert names(m, "Waiting times on support were far too long") == {"Support"}
    assert names(m, "The PRICE is too high for what we get") == {"Pris"}
    assert names(m, "Late deliveries, twice this quarter") == {"Levering"}
    assert names(m, "Great quality, the product just works") == {"Kvalitet", "Produkt"}
    assert names(m, "Our contact person is always quick to answer") == {"Kontaktperson"}
    # A phrase matches as a phrase: "person" alone is not a contact person.
    assert names(m, "A person from your team called") == set()


def test_a_tenants_own_themes_match_by_stem() -> None:
    m = Matcher([Theme("Faktura", ("faktura", "invoice")), Theme("App", ("app",))])
    assert names(m, "Fakturaerne kom for sent") == {"Faktura"}
    assert names(m, "Your invoices are wrong") == {"Faktura"}
    assert names(m, "Appen crasher hele tiden") == {"App"}
    assert names(m, "Happy with everything") == set()


def test_quotes_are_short() -> None:
    long = "Ventetiden på support var alt for lang, " * 10
    short = quote(long, 80)
    assert len(short) <= 80
    assert short.endswith("…")
    assert quote("Prisen er for høj", 80) == "Prisen er for høj"


def test_key_phrases_set_detractors_apart_from_promoters() -> None:
    comments = DANISH + ENGLISH
    detractors = [c for s, c in comments if s <= 6]
    promoters = [c for s, c in comments if s >= 9]
    phrases = key_phrases(detractors, promoters, limit=5)
    assert "forsinket" in phrases.detractors
    assert "late" in phrases.detractors
    assert "hurtig" in phrases.promoters
    assert not set(phrases.detractors) & set(phrases.promoters)
    # Words of the named themes are left out: these are the proposals beside them.
    named = key_phrases(detractors, promoters, limit=5, known=Matcher(DEFAULT_THEMES))
    assert "levering" not in named.detractors
    assert "forsinket" in named.detractors


def test_a_key_phrase_is_not_repeated_inside_another() -> None:
    """ "fakturaen forkert" says it; "fakturaen" and "forkert" beside it say nothing more."""
    detractors = [
        "Fakturaen var forkert igen",
        "Fakturaen forkert for tredje gang",
        "Igen fakturaen forkert, og ingen svarer",
        "Fakturaen er forkert hver måned",
        "Leveringen kom for sent",
    ]
    promoters = ["Altid hurtig hjælp", "God service og hurtig hjælp", "Rigtig god service"]
    phrases = key_phrases(detractors, promoters, limit=5)
    shown = [p.lower() for p in phrases.detractors]
    assert any("faktura" in p and "forkert" in p for p in shown), shown
    words_used = [w for p in shown for w in p.split()]
    assert len(words_used) == len(set(words_used)), shown
