"""A digest as mail: a plain-text part for every client, and HTML with the charts inline."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from anbefal.notify.digest.content import Digest

_env = Environment(
    loader=PackageLoader("anbefal.notify", "digest/templates"),
    autoescape=select_autoescape(["html"]),  # names and comments are escaped
    undefined=StrictUndefined,
)


def html(digest: Digest) -> str:
    return _env.get_template("digest.html").render(d=digest)


def text(digest: Digest) -> str:
    lines = [digest.heading, digest.covers]
    if digest.scope:
        lines.append(digest.scope)
    lines.append("")
    for h in digest.headlines:
        lines.append(f"{h.label}: {h.nps if h.nps is not None else '–'} ({h.detail})")
        if h.change:
            lines.append(f"  {h.change}")
    if digest.themes:
        lines += ["", digest.themes_title, *(f"- {line}" for line in digest.themes)]
    if digest.loop:
        lines += ["", digest.loop_title, digest.loop]
    lines += ["", digest.overdue_title, *(f"- {line}" for line in digest.overdue)]
    if digest.overdue_more:
        lines.append(f"+ {digest.overdue_more}")
    lines += ["", f"{digest.link_text}: {digest.link}", "", digest.footer]
    return "\n".join(lines) + "\n"
