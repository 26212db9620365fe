"""Small builders for notification tests: jobs, snapshots, events, and commits through the real store."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from watcher.model import Event, EventKind, JobInfo, JobRef, Phase, Snapshot
from watcher.notify import Notifier
from watcher.store import JobState, Store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

ARNS = {
    "braket": ("jobArn", "arn:aws:braket:us-east-1:123456789012:job/{name}"),
    "devicefarm": ("arn", "arn:aws:devicefarm:us-west-2:123456789012:job:0d2f/1e3a/{name}"),
}


def job(
    name: str = "alpha",
    *,
    service: str = "iot",
    tags: Sequence[str] = (),
    channels: Sequence[str] = (),
    ident: str | None = None,
) -> JobInfo:
    """A job of ``service`` whose identity is derived from ``ident`` (default: ``name``)."""
    ident = ident or "".join(ch if ch.isalnum() else "-" for ch in name)[:60] or "job"
    if service == "iot":
        params = {"jobId": ident}
    elif service == "deadline":
        params = {"farmId": "farm-" + "0" * 32, "queueId": "queue-" + "1" * 32, "jobId": "job-" + "2" * 32}
    elif service == "amplify":
        params = {"appId": "d1a2b3c4", "branchName": "main", "jobId": str(sum(map(ord, ident)))}
    else:
        key, pattern = ARNS[service]
        params = {key: pattern.format(name=ident)}
    return JobInfo(JobRef(service, params, region="us-east-1"), name=name, tags=tuple(tags), channels=tuple(channels))


def snap(phase: Phase = Phase.RUNNING, status: str = "IN_PROGRESS", **fields: Any) -> Snapshot:
    """A snapshot with sensible times."""
    fields.setdefault("started_at", T0 - timedelta(minutes=12))
    if phase.terminal:
        fields.setdefault("ended_at", T0)
    return Snapshot(phase=phase, status=status, terminal=phase.terminal, **fields)


def event(
    kind: EventKind,
    info: JobInfo,
    old: str | None = None,
    new: str | None = None,
    *,
    at: datetime | None = None,
    **detail: Any,
) -> Event:
    """An event of ``info``'s job."""
    return Event(kind, info.key, info.ref.service, at or T0, old, new, f"{info.display_name}: {kind.value}", detail)


def phase(info: JobInfo, old: str, new: str, **detail: Any) -> Event:
    """A PHASE event, as the differ writes it."""
    return event(EventKind.PHASE, info, old, new, **detail)


def add(store: Store, info: JobInfo) -> JobState:
    """Register ``info`` as a watched job."""
    state = JobState(info=info, source="test", added_at=time.time())
    store.upsert_job(state)
    return state


def commit(
    store: Store,
    notifier: Notifier,
    state: JobState,
    events: Sequence[Event],
    snapshot: Snapshot | None = None,
    *,
    done_reason: str | None = None,
) -> int:
    """Commit a poll as the engine does (routing through ``notifier.route``); returns outbox rows written."""
    if snapshot is not None:
        state.snapshot = snapshot
    if done_reason is not None:
        state.done, state.done_reason = True, done_reason
    now = time.time()
    state.last_poll_at = now
    return store.commit_poll(state, events, notifier.route, now)
