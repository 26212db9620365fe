"""The differ: what changed between two snapshots of a job, as events. Pure: no I/O, no clock.

:func:`diff` runs on every poll, so it returns at once when the two snapshots are equal (the common case).
The watcher-side conditions (stuck, vanished, polling errors) have pure constructors here too, so every
event's wording lives in one module. Summaries are one plain line: control characters of untrusted text
(failure reasons, messages) are blanked, so a summary cannot rewrite a terminal; escaping for HTML or
Markdown happens where a summary is rendered.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from watcher.model import Event, EventKind, JobEventRecord, Phase, Snapshot

# raw step statuses that mean a step failed (Amplify's steps use FAILED)
FAILED_STEP_STATUSES = frozenset({"FAILED"})
_SUMMARY_TEXT = 200  # longest piece of untrusted text quoted in a summary
_SUMMARY_MOVES = 6  # most counters listed in a progress summary
_DETAIL_TEXT = 2000  # longest untrusted text kept in an event's detail
_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def diff(job_key: str, service: str, previous: Snapshot | None, current: Snapshot, now: datetime) -> list[Event]:
    """Events for the change from ``previous`` to ``current`` (``previous`` None: one WATCHING baseline).

    Order: PHASE or STATUS, RESULT, STEP_FAILED, JOB_EVENT, PROGRESS. Info and timestamps are never diffed.
    """
    if previous is None:
        return [_watching(job_key, service, current, now, _label(job_key, service, current))]
    if previous == current:  # the hot path: most polls see no change
        return []
    label = _label(job_key, service, current)
    events: list[Event] = []

    def add(kind: EventKind, summary: str, old: str | None = None, new: str | None = None, **detail: Any) -> None:
        events.append(Event(kind, job_key, service, now, old, new, summary, detail))

    if previous.phase is not current.phase:
        add(
            EventKind.PHASE,
            f"{label}: {previous.phase.value} -> {current.phase.value}{_why(current)}",
            previous.phase.value,
            current.phase.value,
            status=[previous.status, current.status],
            **_failure_detail(current),
        )
    elif previous.status != current.status:
        add(
            EventKind.STATUS,
            f"{label}: {_raw(previous.status)} -> {_raw(current.status)} (still {current.phase.value})",
            previous.status,
            current.status,
            phase=current.phase.value,
        )
    if previous.result != current.result:
        add(
            EventKind.RESULT,
            f"{label}: result {_raw(previous.result)} -> {_raw(current.result)}",
            previous.result,
            current.result,
        )
    if previous.steps != current.steps:
        for step in _newly_failed_steps(previous.steps, current.steps):
            reason, log_url = _step_detail(current, step)
            because = f": {_plain(reason)}" if reason else ""
            add(
                EventKind.STEP_FAILED,
                f"{label}: step {_plain(step)} failed{because}",
                step=step,
                reason=reason,
                log_url=log_url,
            )
    if previous.events != current.events:
        for record in _new_records(previous.events, current.events):
            message = f": {_plain(record.message)}" if record.message else ""
            at = None if record.at is None else record.at.isoformat()
            add(
                EventKind.JOB_EVENT,
                f"{label}: {_plain(record.type) or 'event'}{message}",
                new=record.type,
                type=record.type,
                message=record.message,
                at=at,
            )
    moved = _moved(previous, current)
    if moved:
        add(EventKind.PROGRESS, f"{label}: {_moves(moved)}", moved=moved)
    return events


def stuck_event(
    job_key: str, service: str, snapshot: Snapshot, since: datetime, now: datetime, limit: float | None = None
) -> Event:
    """A STUCK event: ``snapshot`` has not changed since ``since`` or, with ``limit`` (seconds), the job has
    run since ``since`` for longer than its own time limit allows."""
    label = _label(job_key, service, snapshot)
    seconds = max(0, int((now - since).total_seconds()))
    if limit is None:
        summary = f"{label}: no change for {_duration(seconds)} (still {_raw(snapshot.status)})"
    else:
        summary = f"{label}: running for {_duration(seconds)}, past its own limit of {_duration(int(limit))}"
    detail: dict[str, Any] = {
        "since": since.isoformat(),
        "seconds": seconds,
        "phase": snapshot.phase.value,
        "status": snapshot.status,
    }
    if limit is not None:
        detail["limit_seconds"] = int(limit)
    return Event(
        EventKind.STUCK, job_key, service, now, old=None, new=snapshot.phase.value, summary=summary, detail=detail
    )


def vanished_event(job_key: str, service: str, last: Snapshot | None, now: datetime) -> Event:
    """A VANISHED event: the service no longer knows the job (confirmed by a second poll)."""
    label = _label(job_key, service, last)
    seen = f" (last seen {last.phase.value}, {_raw(last.status)})" if last is not None else " (never seen)"
    return Event(
        EventKind.VANISHED,
        job_key,
        service,
        now,
        old=None if last is None else last.phase.value,
        new=None,
        summary=f"{label}: no longer found{seen}",
        detail={} if last is None else {"last_phase": last.phase.value, "last_status": last.status},
    )


def error_event(job_key: str, service: str, code: str, message: str, now: datetime) -> Event:
    """An ERROR event: polling the job keeps failing with ``code`` (access denied, validation, ...)."""
    label = _label(job_key, service, None)
    message = _cut(message, _DETAIL_TEXT)  # an error text can quote a whole answer
    return Event(
        EventKind.ERROR,
        job_key,
        service,
        now,
        new=code,
        summary=f"{label}: polling fails: {_plain(code)}: {_plain(message)}",
        detail={"error": code, "message": message},
    )


def _watching(job_key: str, service: str, current: Snapshot, now: datetime, label: str) -> Event:
    return Event(
        EventKind.WATCHING,
        job_key,
        service,
        now,
        new=current.phase.value,
        summary=f"{label}: watching, {current.phase.value} ({_raw(current.status)}){_why(current)}",
        detail={"status": current.status, "result": current.result, **_failure_detail(current)},
    )


def _label(job_key: str, service: str, snapshot: Snapshot | None) -> str:
    """``braket nightly`` when the job has a name, else its key (which starts with the service)."""
    if snapshot is not None and snapshot.name:
        return f"{service} {_plain(snapshot.name)}"
    return _plain(job_key, 400)


def _why(snapshot: Snapshot) -> str:
    """`` (reason)`` for a job that failed or was cancelled with a stated reason."""
    if snapshot.failure and snapshot.phase in (Phase.FAILED, Phase.CANCELLED):
        return f" ({_plain(snapshot.failure)})"
    return ""


def _failure_detail(snapshot: Snapshot) -> dict[str, Any]:
    return {"failure": _cut(snapshot.failure, _DETAIL_TEXT)} if snapshot.failure else {}


def _newly_failed_steps(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    return [
        step
        for step, status in after.items()
        if status in FAILED_STEP_STATUSES and before.get(step) not in FAILED_STEP_STATUSES
    ]


def _step_detail(snapshot: Snapshot, step: str) -> tuple[str | None, str | None]:
    """Reason and log link of a failed step, from the adapter's ``info["failed_steps"]`` when present."""
    steps = snapshot.info.get("failed_steps")
    detail = steps.get(step) if isinstance(steps, Mapping) else None
    if not isinstance(detail, Mapping):
        return None, None
    reason, log_url = detail.get("reason"), detail.get("log_url")
    return (
        _cut(reason, _DETAIL_TEXT) if isinstance(reason, str) else None,
        _cut(log_url, _DETAIL_TEXT) if isinstance(log_url, str) else None,
    )


def _new_records(before: Iterable[JobEventRecord], after: Iterable[JobEventRecord]) -> list[JobEventRecord]:
    """Entries of ``after`` not in ``before``, in order (a multiset difference, so a service that drops
    its oldest entries, or repeats one, reports only what is new)."""
    seen = Counter(before)
    fresh: list[JobEventRecord] = []
    for record in after:
        if seen[record] > 0:
            seen[record] -= 1
        else:
            fresh.append(record)
    return fresh


def _moved(previous: Snapshot, current: Snapshot) -> dict[str, list[Any]]:
    """``{name: [old, new]}`` for every counter (and the queue position) whose value changed."""
    moved: dict[str, list[Any]] = {}
    if previous.counters != current.counters:
        for name in sorted({*previous.counters, *current.counters}):
            old, new = previous.counters.get(name), current.counters.get(name)
            if old != new:
                moved[name] = [old, new]
    if previous.queue_position != current.queue_position:
        moved["queue_position"] = [previous.queue_position, current.queue_position]
    return moved


def _moves(moved: Mapping[str, list[Any]]) -> str:
    parts = [f"{_plain(name, 60)} {_raw(old)} -> {_raw(new)}" for name, (old, new) in moved.items()]
    more = len(parts) - _SUMMARY_MOVES
    shown = ", ".join(parts[:_SUMMARY_MOVES])
    return f"progress: {shown}" + (f" and {more} more" if more > 0 else "")


def _duration(seconds: int) -> str:
    """``2h 5m``, ``45m``, ``30s``: the largest two units."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{value}{unit}" for value, unit in units if value][:2]
    return " ".join(shown) or "0s"


def _raw(value: object) -> str:
    """A raw value as shown in a summary; ``none`` for a missing one."""
    if value is None or value == "":
        return "none"
    return _plain(str(value), 80)


def _plain(text: str, limit: int = _SUMMARY_TEXT) -> str:
    """Untrusted text as one safe line: control characters blanked, cut to ``limit``."""
    # Cc: control characters (ANSI escapes start with one); Cf: format characters such as bidi overrides
    line = "".join(" " if unicodedata.category(ch) in _UNSAFE else ch for ch in text[: limit + 1])
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"
