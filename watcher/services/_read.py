"""Tolerant readers for service answers: each takes whatever a field holds and never raises.

Answers come from botocore's parser, so they are usually well formed, but a service (or the simulator, or a
proxy) may omit fields, send nulls, change types or send megabytes of text. A reader returns ``None`` (or an
empty collection) for anything it cannot use, cuts long text, and turns timestamps into aware UTC.
Every value these readers return is JSON-ready, because snapshots are stored as JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watcher.model import Phase, to_utc
from watcher.services.base import AnswerError

TEXT_LIMIT = 2000  # longest free text kept (failure reasons, descriptions, commit messages)
CODE_LIMIT = 128  # longest enum-like value kept (statuses, reason codes, step names)
MAX_ITEMS = 100  # most list entries / map keys read from one field (real answers hold far fewer)

_INT_LIMIT = 2**63 - 1
_EMPTY: Mapping[str, Any] = {}


def text(value: Any, limit: int = TEXT_LIMIT) -> str | None:
    """A string field, cut to ``limit`` characters (with an ellipsis); numbers are shown as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = integer(value)
        value = None if number is None else str(value if isinstance(value, float) else number)
    if not isinstance(value, str):
        return None
    if len(value) > limit:
        return value[: limit - 1] + "…"
    return value


def code(value: Any) -> str | None:
    """An enum-like value (status, reason code, name): short text, or None."""
    return text(value, CODE_LIMIT)


def integer(value: Any) -> int | None:
    """A count: an int (not a bool), or a finite float rounded down; anything else is None.

    Values beyond 64 bits are None too: no real count is that large, and huge ints are slow to print
    (Python refuses to turn ints of more than 4300 digits into text at all).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    if isinstance(value, int) and -_INT_LIMIT <= value <= _INT_LIMIT:
        return value
    return None


def flag(value: Any) -> bool | None:
    """A boolean field, or None when it holds anything but a bool."""
    return value if isinstance(value, bool) else None


def when(value: Any) -> datetime | None:
    """A timestamp as aware UTC (botocore gives local-time aware datetimes); anything else is None."""
    if not isinstance(value, datetime):
        return None
    try:
        return to_utc(value)
    except (OverflowError, ValueError):  # a naive datetime at the edge of the range cannot move zones
        return None


def obj(value: Any) -> Mapping[str, Any]:
    """A nested structure, or an empty one when the field is missing or not a structure."""
    return value if isinstance(value, Mapping) else _EMPTY


def objs(value: Any) -> list[Mapping[str, Any]]:
    """The structures in a list field (other entries skipped), at most MAX_ITEMS."""
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value[:MAX_ITEMS] if isinstance(item, Mapping)]


def counts(source: Any, names: Mapping[str, str]) -> dict[str, int]:
    """Counters by jobwatch's name from a structure, reading field ``names[counter]``; unreadable ones left out."""
    fields = obj(source)
    found: dict[str, int] = {}
    for counter, field_name in names.items():
        number = integer(fields.get(field_name))
        if number is not None:
            found[counter] = number
    return found


def phase_of(statuses: Mapping[str, Phase], status: str | None) -> Phase:
    """The phase a raw status maps to; UNKNOWN for a value the adapter does not know (or none)."""
    if status is None:
        return Phase.UNKNOWN
    return statuses.get(status, Phase.UNKNOWN)


def answer_part(answer: Any, key: str | None, service: str) -> Mapping[str, Any]:
    """The job object of an answer: ``answer[key]`` (or the answer itself when key is None).

    Raises AnswerError when there is no job object at all, the only condition an adapter reports.
    """
    if not isinstance(answer, Mapping):
        raise AnswerError(f"{service} answer is a {type(answer).__name__}, not a structure")
    if key is None:
        return answer
    part = answer.get(key)
    if not isinstance(part, Mapping):
        raise AnswerError(f"{service} answer has no {key!r} structure")
    return part


def compact(**values: Any) -> dict[str, Any]:
    """The given fields without the ones that are None (info dicts stay small and JSON-ready)."""
    return {name: value for name, value in values.items() if value is not None}
