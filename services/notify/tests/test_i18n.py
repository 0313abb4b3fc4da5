from __future__ import annotations

import pytest

from anbefal.notify.ui.i18n import TEXTS, negotiate


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("da-DK,da;q=0.9,en-US;q=0.8,en;q=0.7", "da"),
        ("en-GB,en;q=0.9,da;q=0.8", "en"),
        ("fr-FR, de;q=0.9, da;q=0.3, en;q=0.2", "da"),
        ("fr-FR,fr;q=0.9", None),
        ("da;q=0, en;q=0.1", "en"),
        ("*", None),
        ("", None),
        (None, None),
        ("da;q=x", None),
    ],
)
def test_the_browsers_language_when_we_have_it(header: str | None, chosen: str | None) -> None:
    assert negotiate(header) == chosen


def test_every_word_is_in_both_languages() -> None:
    assert TEXTS["en"].keys() == TEXTS["da"].keys()
