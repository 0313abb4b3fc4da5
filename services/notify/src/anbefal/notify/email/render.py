"""Email templates (Jinja2, plain text, Danish and English). The first line is the subject."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound

_env = Environment(
    loader=PackageLoader("anbefal.notify", "email/templates"),
    autoescape=False,  # plain-text mail; nothing here is rendered as HTML
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    # The templates ship with the package and never change under a running process: no stat
    # of the template's file on every mail.
    auto_reload=False,
)

LOCALES = ("en", "da")

# A respondent's comment is quoted in mail and chat posts; a link in it would arrive under the
# tenant's name (a phishing relay). Schemes, host names and IP addresses are defanged, so no
# mail client or chat turns them into links while a reader still sees what was written.
_SCHEME = re.compile(r"\b([^\W_][\w+.-]*)://", re.IGNORECASE)
_HOST = re.compile(r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_][\w-]{0,61}[^\W_]\b")
_IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


def _defang_scheme(match: re.Match[str]) -> str:
    scheme = re.sub(r"^http", "hxxp", match.group(1), flags=re.IGNORECASE)
    return f"{scheme}[:]//"


def defang(text: str | None) -> str | None:
    """`https://evil.example/x` as `hxxps[:]//evil[.]example/x`; plain words stay as written."""
    if not text:
        return text
    text = _SCHEME.sub(_defang_scheme, text)
    text = re.sub(r"\bwww\.", "www[.]", text, flags=re.IGNORECASE)
    text = _HOST.sub(lambda m: m.group(0).replace(".", "[.]"), text)
    return _IP.sub(lambda m: m.group(0).replace(".", "[.]"), text)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def render(template: str, locale: str | None, **context: Any) -> Rendered:
    """Render `template` in `locale`, falling back to English for a locale we do not have.
    A `comment` (the respondent's words) is defanged: no link in it reaches a reader."""
    if "comment" in context:
        context["comment"] = defang(context["comment"])
    chosen = (locale or "en").split("-")[0].lower()
    if chosen not in LOCALES:
        chosen = "en"
    try:
        text = _env.get_template(f"{template}.{chosen}.txt").render(**context)
    except TemplateNotFound:
        text = _env.get_template(f"{template}.en.txt").render(**context)
    subject, _, body = text.lstrip("\n").partition("\n")
    return Rendered(subject=subject.strip(), body=body.lstrip("\n"))
