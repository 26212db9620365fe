"""`jobwatch history`: events newest first with each channel's delivery state, as text and as JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path

from notify.builders import add, event, job, phase

from watcher.model import EventKind
from watcher.notify.history import format_history
from watcher.store import Store


def test_history_shows_each_channel_sent_pending_expired_or_not_routed(tmp_path: Path) -> None:
    info = job("evil\x1b[31m name\nline two")
    with Store.open(tmp_path / "s.db") as store:
        state = add(store, info)
        events = [
            phase(info, "queued", "running"),
            event(EventKind.STATUS, info, "A", "B"),
            phase(info, "running", "failed"),
            event(EventKind.PROGRESS, info, moved={"done": [1, 2]}),
        ]
        routes = {"phase": ["team", "mail"], "status": ["team"], "progress": []}
        for ev in events:
            store.commit_poll(state, [ev], lambda e, j: routes[e.kind.value], time.time())
        rows = {(r.event.kind.value, r.event.new, r.channel): r.id for r in store.dispatchable(time.time())}
        # dispatchable hands out a job's rows per channel in order: 'running' on team and mail, then the rest
        store.mark_sent([rows[("phase", "running", "team")], rows[("phase", "running", "mail")]], time.time())
        rows = {(r.event.kind.value, r.event.new, r.channel): r.id for r in store.dispatchable(time.time())}
        store.mark_sent([rows[("status", "B", "team")]], time.time())
        store.mark_expired([rows[("phase", "failed", "mail")]], "gave up after 9 attempts: 503 Service Unavailable")
        rows = {(r.event.kind.value, r.event.new, r.channel): r.id for r in store.dispatchable(time.time())}
        store.mark_retry([rows[("phase", "failed", "team")]], time.time() + 60, "connection refused")
        entries = store.history(info.key)
    text = format_history(entries, as_json=False)
    lines = text.splitlines()
    assert all("\x1b" not in line for line in lines)
    assert lines[0].endswith("iot        evil[31m name line two  progress: evil[31m name line two: progress")
    assert lines[1] == "    (no notification: no route matched, or muted)"
    assert "phase: " in lines[2]
    assert lines[3] == "    team: pending, 1 attempt so far; last error: connection refused"
    assert lines[4] == (
        "    mail: NOT delivered (gave up after 1 attempt); last error: gave up after 9 attempts: 503 Service"
        " Unavailable"
    )
    assert lines[6].startswith("    team: sent 20") and lines[6].endswith(" after 1 attempt")
    assert len(lines) == 10
    data = json.loads(format_history(entries, as_json=True))
    assert [d["kind"] for d in data] == ["progress", "phase", "status", "phase"]
    assert data[1]["deliveries"][0] == {
        "channel": "team",
        "state": "pending",
        "attempts": 1,
        "sent_at": None,
        "last_error": "connection refused",
        "repeat": 0,
    }
    assert data[3]["job"] == info.display_name and data[3]["new"] == "running"


def test_empty_history() -> None:
    assert format_history([], as_json=False) == "(no events)"
    assert format_history([], as_json=True) == "[]"
