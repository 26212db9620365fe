"""Durations as people write them in config and on the command line: "30s", "5m", "2h", "1d", "1h30m", 90."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(value: str | int | float) -> float:
    """Seconds from ``value``; a bare number is seconds. ValueError with the accepted forms otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '30s', '5m', '2h' or a number of seconds, not a boolean")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    if not text:
        raise ValueError("empty duration; write for example '30s', '5m', '2h' or '0' to turn it off")
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if number < 0:
            raise ValueError("a duration cannot be negative")
        return number
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(
            f"{value!r} is not a duration; write for example '30s', '5m', '1h30m', '2d' or a number of seconds"
        )
    return total


def format_duration(seconds: float) -> str:
    """Short human form: 45s, 3m20s, 2h05m, 1d4h."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 1 or seconds == 0 else f"{seconds * 1000:.0f}ms"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"


Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
"""A pydantic field type: accepts "30s"/"5m"/numbers, holds seconds as float."""
