"""The digest as mail: the same figures in text and HTML, the charts referenced inline, and
anything a respondent or an admin typed escaped."""

from __future__ import annotations

from anbefal.notify.digest import mail
from anbefal.notify.digest.content import Digest, Headline


def digest() -> Digest:
    return Digest(
        locale="da",
        subject="Acme: NPS og eNPS, 16.11.2026 til 29.11.2026",
        heading="Sådan bliver Acme <b>A/S</b> anbefalet",
        covers="Svar fra 16.11.2026 til 29.11.2026.",
        scope="Afgrænset til department = Support.",
        headlines=[
            Headline("NPS (kunder)", "42", "120 svar; 95 %-interval 28 til 55"),
            Headline("eNPS (medarbejdere), 2026-11", None, "Vises ikke: for få har svaret."),
        ],
        charts={"nps-trend": "iVBORw0KGgo="},
        chart_titles={"nps-trend": "NPS (kunder)", "enps-trend": "eNPS"},
        loop_title="Opfølgning",
        loop="12 kritikere fik en opringningsopgave.",
        overdue_title="Opringninger over fristen lige nu",
        overdue=["Kunde <script>1</script> (score 3), frist 02.12 10:00, ida@acme.example"],
        overdue_more=4,
        link="http://127.0.0.1:8004/dashboard",
        link_text="Åbn oversigten",
        footer="Du får dette overblik hver 14. dag.",
    )


def test_the_html_shows_each_figure_and_only_the_charts_there_are() -> None:
    page = mail.html(digest())
    assert 'src="cid:nps-trend"' in page
    assert "cid:enps-trend" not in page  # no image: no broken reference
    assert ">42<" in page
    assert "Vises ikke: for få har svaret." in page
    assert "+ 4" in page
    assert 'lang="da"' in page


def test_names_and_comments_are_escaped_in_html() -> None:
    page = mail.html(digest())
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;A/S&lt;/b&gt;" in page


def test_the_text_part_says_the_same() -> None:
    body = mail.text(digest())
    assert "NPS (kunder): 42 (120 svar; 95 %-interval 28 til 55)" in body
    assert "eNPS (medarbejdere), 2026-11: – (Vises ikke: for få har svaret.)" in body
    assert "Afgrænset til department = Support." in body
    assert "Åbn oversigten: http://127.0.0.1:8004/dashboard" in body
