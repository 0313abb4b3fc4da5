"""Email templates (Jinja2, plain text, Danish and English). The first line is the subject."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound

_env = Environment(
    loader=PackageLoader("anbefal.notify", "email/templates"),
    autoescape=False,  # plain-text mail; nothing here is rendered as HTML
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)

LOCALES = ("en", "da")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def render(template: str, locale: str | None, **context: Any) -> Rendered:
    """Render `template` in `locale`, falling back to English for a locale we do not have."""
    chosen = (locale or "en").split("-")[0].lower()
    if chosen not in LOCALES:
        chosen = "en"
    try:
        text = _env.get_template(f"{template}.{chosen}.txt").render(**context)
    except TemplateNotFound:
        text = _env.get_template(f"{template}.en.txt").render(**context)
    subject, _, body = text.lstrip("\n").partition("\n")
    return Rendered(subject=subject.strip(), body=body.lstrip("\n"))
