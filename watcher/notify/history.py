"""``jobwatch history [JOB] [--json]``: events, newest first, and per channel whether and when each was delivered."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from watcher.notify.escape import clean, cut
from watcher.store import HistoryEntry


def format_history(entries: Sequence[HistoryEntry], as_json: bool) -> str:
    """The entries as a JSON array (``as_json``) or as readable lines for a terminal."""
    if as_json:
        return json.dumps([entry.to_public() for entry in entries], indent=2, ensure_ascii=False)
    if not entries:
        return "(no events)"
    lines: list[str] = []
    for entry in entries:
        event = entry.event
        at = event.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        summary = _plain(event.summary) or _change(event.old, event.new)
        lines.append(f"{at}  {event.service:<10} {_plain(entry.job.display_name, 60)}  {event.kind.value}: {summary}")
        if not entry.deliveries:
            lines.append("    (no notification: no route matched, or muted)")
        for delivery in entry.deliveries:
            lines.append(f"    {_delivery(delivery)}")
    return "\n".join(lines)


def _delivery(d: Mapping[str, Any]) -> str:
    channel = _plain(str(d.get("channel")), 40)
    state = d.get("state")
    attempts = int(d.get("attempts") or 0)
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    reminder = f" (reminder {d['repeat']})" if d.get("repeat") else ""
    if state == "sent":
        when = str(d.get("sent_at") or "").replace("T", " ").replace("+00:00", "")
        return f"{channel}: sent {when} after {tries}{reminder}"
    error = f"; last error: {_plain(str(d['last_error']), 200)}" if d.get("last_error") else ""
    if state == "expired":
        return f"{channel}: NOT delivered (gave up after {tries}){reminder}{error}"
    return f"{channel}: pending, {tries} so far{reminder}{error}"


def _change(old: str | None, new: str | None) -> str:
    return f"{old or '-'} -> {new or '-'}"


def _plain(text: str, limit: int = 300) -> str:
    """Untrusted text made one safe terminal line."""
    return cut(" ".join(clean(text).split()), limit)
