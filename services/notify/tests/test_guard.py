"""The staff pages' origin check and cookies, without a server."""

from __future__ import annotations

import pytest
from fastapi import Request, Response

from anbefal.devstack.testing import TEST_JWT_SECRET, TEST_UNSUBSCRIBE_KEYS
from anbefal.notify.settings import NotifySettings
from anbefal.notify.ui import guard


def settings(public_url: str) -> NotifySettings:
    return NotifySettings(
        jwt_secret=TEST_JWT_SECRET, unsubscribe_keys=TEST_UNSUBSCRIBE_KEYS, public_url=public_url
    )


def request(headers: dict[str, str], scheme: str = "http") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "scheme": scheme, "headers": raw, "path": "/"})


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"Origin": "https://staff.acme.example"}, True),
        ({"Origin": "https://staff.acme.example:443"}, True),
        ({"Origin": "https://STAFF.acme.example"}, True),
        ({"Referer": "https://staff.acme.example/tasks/1"}, True),
        ({"Origin": "http://staff.acme.example"}, False),  # another scheme
        ({"Origin": "https://staff.acme.example:8443"}, False),  # another port: same site
        ({"Origin": "https://evil.acme.example"}, False),  # a sibling subdomain
        ({"Origin": "null", "Referer": "https://staff.acme.example/"}, False),
        ({"Referer": "https://evil.example/https://staff.acme.example"}, False),
        ({}, False),
        # The address the request was sent to (behind no proxy, before a public URL is set).
        ({"Origin": "http://10.0.0.5:8004", "Host": "10.0.0.5:8004"}, True),
        ({"Origin": "http://10.0.0.5:8004", "Host": "10.0.0.6:8004"}, False),
    ],
)
def test_only_our_origin_may_post(headers: dict[str, str], ok: bool) -> None:
    assert guard.same_origin(request(headers), settings("https://staff.acme.example/")) is ok


@pytest.mark.parametrize(
    ("public_url", "secure"), [("https://x.example", True), ("http://x", False)]
)
def test_the_cookies_are_secure_when_the_public_url_is_https(public_url: str, secure: bool) -> None:
    response = Response()
    guard.set_session(response, "token", settings(public_url))
    guard.set_login_form_token(response, "t" * 43, settings(public_url))
    cookies = response.headers.getlist("set-cookie")
    assert len(cookies) == 2
    for cookie in cookies:
        assert "HttpOnly" in cookie
        assert ("Secure" in cookie) is secure
    assert "SameSite=lax" in cookies[0]
    assert "SameSite=strict" in cookies[1]
