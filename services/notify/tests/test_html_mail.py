"""Mail with an HTML part and inline images: what the digest sends."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy

from anbefal.notify.email.sender import build_message

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()


def test_an_html_mail_carries_its_text_its_html_and_each_image_under_its_content_id() -> None:
    message = build_message(
        sender="Anbefal <noreply@acme.example>",
        recipient="leder@acme.example",
        reply_to=None,
        subject="NPS-overblik",
        body="NPS 42",
        message_id="<d1@acme.example>",
        html='<p>NPS 42</p><img src="cid:trend-nps" alt="NPS">',
        images={"trend-nps": PNG},
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().strip() == "NPS 42"
    assert 'src="cid:trend-nps"' in html.get_content()
    images = [p for p in parsed.walk() if p.get_content_type() == "image/png"]
    assert [p["Content-ID"] for p in images] == ["<trend-nps>"]
    assert images[0].get_payload(decode=True) == base64.b64decode(PNG)


def test_a_plain_mail_stays_a_single_text_part() -> None:
    message = build_message(
        sender="a@acme.example", recipient="b@acme.example", reply_to=None, subject="s",
        body="hello", message_id="<m@acme.example>",
    )  # fmt: skip
    assert message.get_content_type() == "text/plain"
