"""The digest's words, in Danish and English."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "{tenant}: NPS and eNPS, {first} to {last}",
        "heading": "How {tenant} is recommended",
        "covers": "Answers from {first} to {last}.",
        "scope": "Limited to {scope}.",
        "nps": "NPS (customers)",
        "enps": "eNPS (employees), {cell}",
        "n": "{n} answers",
        "interval": "95% interval {low} to {high}",
        "no_answers": "No answers in this period.",
        "hidden": "Not shown: {why}",
        "unavailable": "The figures could not be read just now.",
        "themes": "Why customers recommend us, or not",
        "theme_line": "{name}: {detractors} detractors, {promoters} promoters.",
        "loop": "Closed loop",
        "loop_line": "{tasks} detractors got a call task; {share} were taken up within the "
        "due time; median time to first contact {median}.",
        "loop_none": "No detractor call tasks in this period.",
        "overdue": "Overdue calls now",
        "overdue_none": "No calls are overdue.",
        "overdue_line": "{respondent} (score {score}), due {due}, {assignee}",
        "unassigned": "not assigned",
        "open_page": "Open the dashboard",
        "footer": "You get this digest every {days} days as a recipient set by {tenant}.",
    },
    "da": {
        "subject": "{tenant}: NPS og eNPS, {first} til {last}",
        "heading": "Sådan bliver {tenant} anbefalet",
        "covers": "Svar fra {first} til {last}.",
        "scope": "Afgrænset til {scope}.",
        "nps": "NPS (kunder)",
        "enps": "eNPS (medarbejdere), {cell}",
        "n": "{n} svar",
        "interval": "95 %-interval {low} til {high}",
        "no_answers": "Ingen svar i perioden.",
        "hidden": "Vises ikke: {why}",
        "unavailable": "Tallene kunne ikke hentes lige nu.",
        "themes": "Hvorfor kunderne anbefaler os, eller ikke",
        "theme_line": "{name}: {detractors} kritikere, {promoters} ambassadører.",
        "loop": "Opfølgning",
        "loop_line": "{tasks} kritikere fik en opringningsopgave; {share} blev taget inden "
        "fristen; mediantid til første kontakt {median}.",
        "loop_none": "Ingen opringningsopgaver til kritikere i perioden.",
        "overdue": "Opringninger over fristen lige nu",
        "overdue_none": "Ingen opringninger er over fristen.",
        "overdue_line": "{respondent} (score {score}), frist {due}, {assignee}",
        "unassigned": "ikke tildelt",
        "open_page": "Åbn oversigten",
        "footer": "Du får dette overblik hver {days}. dag, fordi {tenant} har sat dig på listen.",
    },
}


def words(locale: str | None) -> dict[str, str]:
    return WORDS.get((locale or "en")[:2].lower(), WORDS["en"])
