"""Pagination with opaque ``nextToken`` cursors that survive jobs being added or removed between pages."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from watcher.simulator.errors import SimError
from watcher.simulator.jobs import SimJob

_PREFIX = "jobwatch-sim:"


def encode_token(seq: int) -> str:
    """A token meaning "after the job created ``seq``-th" (long enough for Device Farm's 4-char minimum)."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{seq}".encode()).decode()


def decode_token(token: str) -> int:
    """The cursor in a token; the service's validation error for anything we did not issue."""
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith(_PREFIX):
            return int(text[len(_PREFIX) :])
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise SimError("validation", "Invalid pagination token", field="nextToken")


def page(
    jobs: Sequence[SimJob], token: str | None, limit: int, newest_first: bool = False
) -> tuple[list[SimJob], str | None]:
    """One page of ``jobs`` (given in creation order) after ``token``; the next token or None."""
    ordered = list(reversed(jobs)) if newest_first else list(jobs)
    if token:
        cursor = decode_token(token)
        ordered = [j for j in ordered if (j.seq < cursor if newest_first else j.seq > cursor)]
    chosen = ordered[:limit]
    more = len(ordered) > limit
    return chosen, (encode_token(chosen[-1].seq) if more and chosen else None)


def project(answer: dict[str, object], members: Sequence[str]) -> dict[str, object]:
    """The members of ``answer`` a summary shape has (list calls answer summaries, not whole jobs)."""
    return {name: answer[name] for name in members if name in answer}
