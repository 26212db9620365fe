"""Repeats (Alertmanager's repeat_interval): a stuck or failed job re-notifies until acknowledged or moved on.

An alert is a job's latest stuck or phase event that is not acknowledged: a STUCK event while nothing
happened since and the job is still watched, or a PHASE event to ``failed`` while the job was neither
removed nor vanished. Each channel the alert is routed to now (mutes applied now) with a repeat interval
gets a new outbox row for the same event once that interval has passed since its last notice there
(sent, else queued; the event's own time when it never went there, e.g. while muted).
"""

from __future__ import annotations

from dataclasses import dataclass

from watcher.model import EventKind, Phase
from watcher.notify.routing import Router
from watcher.store import Alerting, Store, epoch

_GONE = ("removed", "vanished")


@dataclass(frozen=True, slots=True)
class Repeat:
    """One reminder to queue: the event, the channel and the reminder's number."""

    event_id: int
    channel: str
    number: int


def alert_active(alert: Alerting) -> bool:
    """Whether an alerting event still calls for reminders."""
    if alert.event.kind is EventKind.STUCK:
        return alert.latest and not alert.done
    return (
        alert.event.kind is EventKind.PHASE and alert.event.new == Phase.FAILED.value and alert.done_reason not in _GONE
    )


def due_repeats(store: Store, router: Router, now: float) -> list[Repeat]:
    """The reminders due at ``now``."""
    alerts = [a for a in store.alerting() if alert_active(a)]
    if not alerts:
        return []
    marks = store.delivery_marks(a.event_id for a in alerts)
    due: list[Repeat] = []
    for alert in alerts:
        for owed in router.owed(alert.event, alert.job):
            if owed.repeat_interval is None or owed.repeat_interval <= 0:
                continue
            mark = marks.get((alert.event_id, owed.channel))
            if mark is None:
                number, last = 0, epoch(alert.event.at)
            else:
                number, last, pending = mark
                if pending:
                    continue  # the last notice is still on its way
            if now - last >= owed.repeat_interval:
                due.append(Repeat(alert.event_id, owed.channel, number + 1))
    return due


def queue_repeats(store: Store, router: Router, now: float) -> int:
    """Queue every due reminder; returns how many rows were written."""
    written = 0
    for repeat in due_repeats(store, router, now):
        written += store.enqueue(repeat.event_id, [repeat.channel], now, repeat=repeat.number)
    return written


def check_period(router: Router) -> float | None:
    """How often to look for due reminders: a quarter of the shortest repeat interval, 50 ms to 30 s."""
    intervals = [r.repeat_interval for r in router.routes if r.repeat_interval]
    if router.settings.repeat_interval:
        intervals.append(router.settings.repeat_interval)
    if not intervals:
        return None
    return min(30.0, max(0.05, min(intervals) / 4))
