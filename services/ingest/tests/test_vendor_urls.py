"""A source's `api_base_url` reaches only its tool's own API: https to the vendor's documented
hosts (Qualtrics: a datacenter host under qualtrics.com), as the vendor documents the base URL
or as the bare host, never doubling the path; ids in the path are encoded, never path syntax."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from anbefal.ingest.sources.config import SourceIn
from anbefal.ingest.sources.vendors import api_url, vendor_origin


def thin(tool: str, url: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tool": tool,
        "secret": "a-long-enough-secret-for-the-test-0123456789",
        "fields": {"score": "q"},
        "api_token": "tok",
        "client_id": "cid",
    }
    if url is not None:
        body["api_base_url"] = url
    return body


@pytest.mark.parametrize(
    ("tool", "given", "stored"),
    [
        ("surveymonkey", "https://api.surveymonkey.com/v3", "https://api.surveymonkey.com"),
        ("surveymonkey", "https://api.surveymonkey.com/v3/", "https://api.surveymonkey.com"),
        ("surveymonkey", "https://api.surveymonkey.com", "https://api.surveymonkey.com"),
        ("surveymonkey", "https://API.eu.surveymonkey.com/v3", "https://api.eu.surveymonkey.com"),
        ("surveymonkey", "https://api.surveymonkey.ca/v3", "https://api.surveymonkey.ca"),
        ("qualtrics", "https://fra1.qualtrics.com/API/v3", "https://fra1.qualtrics.com"),
        ("qualtrics", "https://fra1.qualtrics.com/API/v3/", "https://fra1.qualtrics.com"),
        ("qualtrics", "https://iad1.qualtrics.com", "https://iad1.qualtrics.com"),
        ("qualtrics", "https://acme.ca1.qualtrics.com/API/v3", "https://acme.ca1.qualtrics.com"),
        ("qualtrics", "https://fra1.qualtrics.com:443/API/v3", "https://fra1.qualtrics.com"),
    ],
)
def test_documented_base_urls_and_bare_hosts_are_accepted(
    tool: str, given: str, stored: str
) -> None:
    assert SourceIn.model_validate(thin(tool, given)).api_base_url == stored


def test_surveymonkey_defaults_to_its_documented_host() -> None:
    body = SourceIn.model_validate(thin("surveymonkey", None))
    assert body.api_base_url == "https://api.surveymonkey.com"


@pytest.mark.parametrize(
    ("tool", "url"),
    [
        ("surveymonkey", "http://api.surveymonkey.com/v3"),  # not https
        ("surveymonkey", "http://127.0.0.1:8080"),
        ("surveymonkey", "https://127.0.0.1"),
        ("surveymonkey", "https://169.254.169.254/latest/meta-data"),
        ("surveymonkey", "https://api.surveymonkey.com.evil.example/v3"),
        ("surveymonkey", "https://evil.example/api.surveymonkey.com"),
        ("surveymonkey", "https://user:pw@api.surveymonkey.com/v3"),
        ("surveymonkey", "https://api.surveymonkey.com:8443/v3"),
        ("surveymonkey", "https://api.surveymonkey.com/v3?x=1"),
        ("surveymonkey", "https://api.surveymonkey.com/v2"),
        ("surveymonkey", "https://fra1.qualtrics.com/API/v3"),  # another tool's host
        ("qualtrics", "https://qualtrics.com/API/v3"),
        ("qualtrics", "https://a.b.c.qualtrics.com/API/v3"),
        ("qualtrics", "https://fra1.qualtrics.com.evil.example/API/v3"),
        ("qualtrics", "https://fra1.qualtrics.com/API/v3/surveys"),
        ("qualtrics", "https://internal-service/API/v3"),
        ("qualtrics", "https://[::1]/API/v3"),
        ("qualtrics", None),  # the datacenter cannot be guessed
    ],
)
def test_anything_but_the_vendors_api_is_refused(tool: str, url: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        SourceIn.model_validate(thin(tool, url))
    assert "api_base_url" in str(caught.value)


def test_a_stored_base_url_is_checked_again_when_used() -> None:
    """A row written before the allow-list (or edited in the database) is refused at fetch."""
    with pytest.raises(ValueError, match="api_base_url"):
        vendor_origin("qualtrics", "http://127.0.0.1:9000")
    assert vendor_origin("qualtrics", "https://fra1.qualtrics.com") == "https://fra1.qualtrics.com"


def test_ids_are_encoded_path_segments_and_never_path_syntax() -> None:
    url = api_url("https://api.surveymonkey.com", ("v3", "surveys", "1/../../x?y#z", "details"))
    assert url == "https://api.surveymonkey.com/v3/surveys/1%2F..%2F..%2Fx%3Fy%23z/details"
    for bad in ("..", ".", ""):
        with pytest.raises(ValueError, match="path segment"):
            api_url("https://api.surveymonkey.com", ("v3", "surveys", bad, "details"))
