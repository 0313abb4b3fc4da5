"""Lifetimes for `anbefal token issue`: `90s`, `15m`, `12h`, `30d`."""

from __future__ import annotations

import re

DEFAULT_MAX_TTL = "90d"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text)
    if match is None or int(match[1]) == 0:
        raise ValueError(f"{text!r} is no lifetime; write a number and s, m, h or d (e.g. 30d)")
    return int(match[1]) * _UNITS[match[2]]
