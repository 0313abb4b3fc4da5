"""Where a thin-webhook tool's API may be reached: its vendor's own hosts, over https, nothing else.

Pure. A source names its API base URL as the vendor documents it
(`https://api.surveymonkey.com/v3`, `https://<datacenter>.qualtrics.com/API/v3`) or as the bare
host; it is stored as the origin alone (`https://fra1.qualtrics.com`), so the adapters' paths are
never doubled. Everything else (another host, a port, credentials, a query, http) is refused, so
an admin cannot point ingest's fetches, with a token header of their choosing, at an internal
host. The hosts' addresses are checked again when the fetch connects (`webhooks/egress.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"


@dataclass(frozen=True)
class Vendor:
    hosts: re.Pattern[str]
    # The path of the documented base URL, accepted and dropped (the adapters add it).
    base_path: str
    # Shown when a URL is refused: the documented form.
    documented: str
    default_host: str | None = None


VENDORS: dict[str, Vendor] = {
    # SurveyMonkey's US, EU and Canadian API hosts.
    "surveymonkey": Vendor(
        hosts=re.compile(
            r"api\.surveymonkey\.com|api\.eu\.surveymonkey\.com|api\.surveymonkey\.ca"
        ),
        base_path="/v3",
        documented="https://api.surveymonkey.com/v3 (or api.eu.surveymonkey.com, "
        "api.surveymonkey.ca)",
        default_host="api.surveymonkey.com",
    ),
    # A Qualtrics datacenter (`fra1.qualtrics.com`), or an organisation's host on it
    # (`acme.fra1.qualtrics.com`).
    "qualtrics": Vendor(
        hosts=re.compile(rf"(?:{_LABEL}\.)?{_LABEL}\.qualtrics\.com"),
        base_path="/api/v3",
        documented="https://<datacenter>.qualtrics.com/API/v3",
    ),
}


def default_base_url(tool: str) -> str | None:
    vendor = VENDORS.get(tool)
    return f"https://{vendor.default_host}" if vendor and vendor.default_host else None


def vendor_origin(tool: str, url: str) -> str:
    """The origin (`https://host`) of `url` if it is `tool`'s API; else ValueError saying why."""
    vendor = VENDORS.get(tool)
    if vendor is None:
        raise ValueError(f"api_base_url: {tool} is not fetched from an API")
    refused = ValueError(f"api_base_url must be {tool}'s API, {vendor.documented}")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise refused from exc
    host = (parts.hostname or "").lower()
    path = parts.path.rstrip("/").lower()
    if (
        parts.scheme.lower() != "https"
        or parts.username is not None
        or parts.password is not None
        or port not in (None, 443)
        or parts.query
        or parts.fragment
        or vendor.hosts.fullmatch(host) is None
        or path not in ("", vendor.base_path)
    ):
        raise refused
    return f"https://{host}"


def api_url(origin: str, segments: tuple[str, ...]) -> str:
    """`origin` + the path of `segments`, each percent-encoded as one segment, so an id from a
    webhook can never add a segment, go up one, or start a query."""
    for segment in segments:
        if segment in ("", ".", ".."):
            raise ValueError(f"{segment!r} is not a path segment an API id can be")
    return origin.rstrip("/") + "".join("/" + quote(s, safe="") for s in segments)
