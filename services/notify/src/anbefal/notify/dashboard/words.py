"""The dashboard's words in English and Danish, and figures written as each language writes
them (Danish: a decimal comma)."""

from __future__ import annotations

from datetime import date

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "dashboard": "Dashboard",
        "themes": "What the comments are about, last 90 days",
        "theme_counts": "{total} comments: {promoters} from promoters, {detractors} from "
        "detractors",
        "proposed_detractors": "Words that set detractors apart",
        "proposed_promoters": "Words that set promoters apart",
        "no_comments": "No comments in this period.",
        "comments": "Latest comments, last 90 days",
        "category": "Category",
        "all": "All",
        "detractor": "Detractor",
        "passive": "Passive",
        "promoter": "Promoter",
        "search": "Search the comments",
        "filter_button": "Filter",
        "comments_total": "{n} comments match",
        "performance": "Closed loop, last 30 days",
        "detractors_with_task": "Detractors with a call task",
        "contacted_within_due": "Contacted within the deadline",
        "median_first_contact": "Median time to first contact",
        "open_now": "Open now",
        "overdue_now": "Overdue now",
        "outcomes": "Outcomes",
        "hours": "{n} hours",
        "no_tasks": "No tasks in this period.",
        "queue_link": "Call-back queue",
        "scope_note": "You see {scope} only.",
        "whole_tenant": "You see the whole organisation.",
        "nps_now": "NPS, last 30 days",
        "enps_now": "eNPS, this month",
        "interval": "95% interval: {low} to {high}",
        "answers": "{n} answers",
        "no_answers": "No answers in this period yet.",
        "up": "Up {delta} points from {previous} ({period}, {n} answers)",
        "down": "Down {delta} points from {previous} ({period}, {n} answers)",
        "same": "Unchanged from {previous} ({period}, {n} answers)",
        "significant": "A significant change.",
        "not_significant": "Not a significant change: it may be chance.",
        "no_previous": "No figure for the previous period to compare with.",
        "previous_hidden": "The previous period is hidden: {why}",
        "as_of": "Figures as of {time}",
        "period": "{first} to {last}",
        "trend": "Trend",
        "nps_trend": "NPS per week, last 26 weeks",
        "enps_trend": "eNPS per month, last 6 months",
        "chart_score_interval": "95% interval",
        "chart_answers": "Answers",
        "segments": "Segments",
        "kind": "Survey",
        "window": "Period",
        "dimension": "Dimension",
        "show": "Show",
        "csv": "Download as CSV",
        "segment": "Segment",
        "n": "Answers",
        "nps": "Score",
        "promoters": "Promoters",
        "passives": "Passives",
        "detractors": "Detractors",
        "previous": "Previous",
        "change": "Change",
        "sort_by": "Sort by {column}",
        "sorted": "sorted",
        "hidden": "Hidden",
        "significant_short": "significant",
        "not_significant_short": "not significant",
        "no_segments": "No answers in this period for this dimension.",
        "unavailable": "The figures cannot be read right now. Try again in a moment.",
        "forbidden": "The dashboard is for directors, admins and viewers.",
        "w_30d": "Last 30 days",
        "w_90d": "Last 90 days",
        "w_365d": "Last 365 days",
        "w_month": "This month",
        "w_quarter": "This quarter",
        "w_year": "This year",
        "filter": "Only (dimension:value)",
        "filter_hint": "For example country:DK; NPS only",
        # Why an eNPS figure is hidden, one sentence per reason code.
        "too_few": "too few people answered: a figure could point out one of them.",
        "protects_other_segment": "showing it would let anyone work out the "
        "figure of a smaller group by subtraction.",
        "awaiting_changes": "people have answered, but the figure moves only once enough new "
        "answers have come in, so no one person's answer can be seen.",
        "unknown_reason": "it is hidden to protect the people who answered.",
    },
    "da": {
        "dashboard": "Overblik",
        "themes": "Hvad kommentarerne handler om, de seneste 90 dage",
        "theme_counts": "{total} kommentarer: {promoters} fra ambassadører, {detractors} fra "
        "kritikere",
        "proposed_detractors": "Ord, der kendetegner kritikerne",
        "proposed_promoters": "Ord, der kendetegner ambassadørerne",
        "no_comments": "Ingen kommentarer i perioden.",
        "comments": "Seneste kommentarer, de seneste 90 dage",
        "category": "Kategori",
        "all": "Alle",
        "detractor": "Kritiker",
        "passive": "Passiv",
        "promoter": "Ambassadør",
        "search": "Søg i kommentarerne",
        "filter_button": "Filtrér",
        "comments_total": "{n} kommentarer passer",
        "performance": "Opfølgning, de seneste 30 dage",
        "detractors_with_task": "Kritikere med en opringningsopgave",
        "contacted_within_due": "Kontaktet inden fristen",
        "median_first_contact": "Mediantid til første kontakt",
        "open_now": "Åbne nu",
        "overdue_now": "Overskredet nu",
        "outcomes": "Udfald",
        "hours": "{n} timer",
        "no_tasks": "Ingen opgaver i perioden.",
        "queue_link": "Tilbagekaldskø",
        "scope_note": "Du ser kun {scope}.",
        "whole_tenant": "Du ser hele organisationen.",
        "nps_now": "NPS, de seneste 30 dage",
        "enps_now": "eNPS, denne måned",
        "interval": "95 %-interval: {low} til {high}",
        "answers": "{n} svar",
        "no_answers": "Ingen svar i perioden endnu.",
        "up": "Steget {delta} point fra {previous} ({period}, {n} svar)",
        "down": "Faldet {delta} point fra {previous} ({period}, {n} svar)",
        "same": "Uændret fra {previous} ({period}, {n} svar)",
        "significant": "En signifikant ændring.",
        "not_significant": "Ikke en signifikant ændring; den kan skyldes tilfældigheder.",
        "no_previous": "Intet tal for den foregående periode at sammenligne med.",
        "previous_hidden": "Den foregående periode er skjult: {why}",
        "as_of": "Tallene er fra {time}",
        "period": "{first} til {last}",
        "trend": "Udvikling",
        "nps_trend": "NPS pr. uge, de seneste 26 uger",
        "enps_trend": "eNPS pr. måned, de seneste 6 måneder",
        "chart_score_interval": "95 %-interval",
        "chart_answers": "Svar",
        "segments": "Segmenter",
        "kind": "Måling",
        "window": "Periode",
        "dimension": "Dimension",
        "show": "Vis",
        "csv": "Hent som CSV",
        "segment": "Segment",
        "n": "Svar",
        "nps": "Score",
        "promoters": "Ambassadører",
        "passives": "Passive",
        "detractors": "Kritikere",
        "previous": "Før",
        "change": "Ændring",
        "sort_by": "Sortér efter {column}",
        "sorted": "sorteret",
        "hidden": "Skjult",
        "significant_short": "signifikant",
        "not_significant_short": "ikke signifikant",
        "no_segments": "Ingen svar i perioden for denne dimension.",
        "unavailable": "Tallene kan ikke hentes lige nu. Prøv igen om lidt.",
        "forbidden": "Overblikket er for direktører, administratorer og læsere.",
        "w_30d": "Seneste 30 dage",
        "w_90d": "Seneste 90 dage",
        "w_365d": "Seneste 365 dage",
        "w_month": "Denne måned",
        "w_quarter": "Dette kvartal",
        "w_year": "Dette år",
        "filter": "Kun (dimension:værdi)",
        "filter_hint": "For eksempel country:DK; kun NPS",
        "too_few": "for få personer har svaret: et tal kunne udpege en af dem.",
        "protects_other_segment": "hvis det blev vist, kunne man regne sig frem "
        "til en mindre gruppes tal ved at trække fra.",
        "awaiting_changes": "der er kommet svar, men tallet flytter sig først, når der er "
        "kommet nok nye svar, så ingen enkelt persons svar kan ses.",
        "unknown_reason": "det er skjult for at beskytte dem, der har svaret.",
    },
}


def dashboard_words(locale: str | None) -> dict[str, str]:
    return WORDS.get((locale or "en")[:2], WORDS["en"])


MONTHS_EN = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def day(value: date | str, locale: str) -> str:
    """A day as each language writes it: `5.12.2026` in Danish, `5 Dec 2026` in English."""
    d = value if isinstance(value, date) else date.fromisoformat(value)
    if locale.startswith("da"):
        return f"{d.day}.{d.month}.{d.year}"
    return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def number(value: float, locale: str, decimals: int = 1) -> str:
    """`23.8` in English, `23,8` in Danish; a minus sign, not a hyphen."""
    text = f"{value:.{decimals}f}"
    if text.startswith("-"):
        text = "\u2212" + text[1:]
    return text.replace(".", ",") if locale.startswith("da") else text
