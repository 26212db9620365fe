"""The differ: events for what changed between two snapshots, and the watcher-side events.

Example tests walk real adapter reads through a job's life; property tests (hypothesis) check the rules
over random snapshot pairs."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.diff import diff, error_event, stuck_event, vanished_event
from watcher.model import Event, EventKind, JobEventRecord, Phase, Snapshot
from watcher.services import adapter_for

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
KEY = "braket:arn:aws:braket:us-east-1:123456789012:job/nightly"
ORDER = [EventKind.PHASE, EventKind.STATUS, EventKind.RESULT, EventKind.STEP_FAILED, EventKind.JOB_EVENT,
         EventKind.PROGRESS]  # fmt: skip


def at(minute: int) -> datetime:
    return datetime(2024, 5, 1, 10, minute, tzinfo=UTC)


def braket(status: str, events: list[tuple[str, int]], position: str | None = None, **extra: Any) -> Snapshot:
    """A Braket snapshot read from an answer shaped like botocore's."""
    answer = {
        "status": status, "jobArn": KEY.split(":", 1)[1], "jobName": "nightly",
        "events": [{"eventType": kind, "timeOfEvent": at(minute), "message": f"{kind} at {minute}"}
                   for kind, minute in events],
        "queueInfo": {"queue": "JOBS_QUEUE", "position": position} if position else None, **extra,
    }  # fmt: skip
    return adapter_for("braket").read(answer)


def test_the_first_poll_is_one_watching_baseline_not_a_transition() -> None:
    events = diff(KEY, "braket", None, braket("RUNNING", [("RUNNING", 1)]), NOW)
    assert [e.kind for e in events] == [EventKind.WATCHING]
    assert events[0].new == "running" and events[0].summary == "braket nightly: watching, running (RUNNING)"
    assert events[0].at == NOW and events[0].job_key == KEY and events[0].service == "braket"


def test_a_braket_job_through_its_life() -> None:
    queued = braket("QUEUED", [("QUEUED_FOR_EXECUTION", 0)], position="3")
    moved = braket("QUEUED", [("QUEUED_FOR_EXECUTION", 0)], position="1")
    running = braket("RUNNING", [("QUEUED_FOR_EXECUTION", 0), ("RUNNING", 5)])
    failed = braket("FAILED", [("QUEUED_FOR_EXECUTION", 0), ("RUNNING", 5), ("FAILED", 9)],
                    failureReason="AlgorithmError: division by zero")  # fmt: skip

    assert diff(KEY, "braket", queued, queued, NOW) == []
    [progress] = diff(KEY, "braket", queued, moved, NOW)
    assert progress.kind is EventKind.PROGRESS and progress.detail == {"moved": {"queue_position": ["3", "1"]}}
    assert progress.summary == "braket nightly: progress: queue_position 3 -> 1"

    events = diff(KEY, "braket", moved, running, NOW)
    assert [e.kind for e in events] == [EventKind.PHASE, EventKind.JOB_EVENT, EventKind.PROGRESS]
    assert (events[0].old, events[0].new, events[0].summary) == (
        "queued",
        "running",
        "braket nightly: queued -> running",
    )
    assert events[1].detail == {"type": "RUNNING", "message": "RUNNING at 5", "at": "2024-05-01T10:05:00+00:00"}
    assert events[2].detail == {"moved": {"queue_position": ["1", None]}}

    events = diff(KEY, "braket", running, failed, NOW)
    assert [e.kind for e in events] == [EventKind.PHASE, EventKind.JOB_EVENT]
    assert events[0].summary == "braket nightly: running -> failed (AlgorithmError: division by zero)"
    assert events[0].detail == {"status": ["RUNNING", "FAILED"], "failure": "AlgorithmError: division by zero"}
    assert events[1].summary == "braket nightly: FAILED: FAILED at 9"


def test_service_events_are_reported_once_even_when_the_oldest_drop_out_of_the_list() -> None:
    before = braket("RUNNING", [("A", 1), ("B", 2), ("C", 3)])
    after = braket("RUNNING", [("B", 2), ("C", 3), ("D", 4), ("E", 5)])  # Braket keeps only the latest 20
    events = diff(KEY, "braket", before, after, NOW)
    assert [e.detail["type"] for e in events] == ["D", "E"]


def test_a_raw_status_change_within_a_phase_is_a_status_event() -> None:
    deadline = adapter_for("deadline")
    ids = {"jobId": "job-" + "c" * 32, "name": "comp", "lifecycleStatus": "CREATE_COMPLETE"}
    assigned = deadline.read({**ids, "taskRunStatus": "ASSIGNED", "taskRunStatusCounts": {"READY": 4}})
    running = deadline.read({**ids, "taskRunStatus": "RUNNING", "taskRunStatusCounts": {"READY": 3, "RUNNING": 1}})
    events = diff("deadline:x", "deadline", assigned, running, NOW)
    assert [e.kind for e in events] == [EventKind.STATUS, EventKind.PROGRESS]
    assert (events[0].old, events[0].new) == ("ASSIGNED", "RUNNING")
    assert events[0].summary == "deadline comp: ASSIGNED -> RUNNING (still running)"
    assert events[1].detail == {"moved": {"ready": [4, 3], "running": [None, 1]}}
    archived = deadline.read({**ids, "lifecycleStatus": "ARCHIVED", "taskRunStatus": "SUCCEEDED"})
    succeeded = deadline.read({**ids, "taskRunStatus": "SUCCEEDED"})
    [result] = diff("deadline:x", "deadline", succeeded, archived, NOW)
    assert (result.kind, result.old, result.new) == (EventKind.RESULT, "CREATE_COMPLETE", "ARCHIVED")


def test_an_amplify_step_that_fails_is_reported_with_its_reason_and_log() -> None:
    def job(status: str, build: str, deploy: str | None = None) -> Snapshot:
        steps = [{"stepName": "BUILD", "status": build, "statusReason": "npm ERR!\x1b[2J code 1",
                  "logUrl": "https://logs/build"}]  # fmt: skip
        if deploy:
            steps.append({"stepName": "DEPLOY", "status": deploy})
        return adapter_for("amplify").read({"job": {"summary": {"status": status, "jobId": "7"}, "steps": steps}})

    building, failed = job("RUNNING", "RUNNING"), job("FAILED", "FAILED", "CANCELLED")
    events = diff("amplify:d1/main/7", "amplify", building, failed, NOW)
    assert [e.kind for e in events] == [EventKind.PHASE, EventKind.STEP_FAILED]
    step = events[1]
    assert step.detail == {"step": "BUILD", "reason": "npm ERR!\x1b[2J code 1", "log_url": "https://logs/build"}
    assert step.summary == "amplify:d1/main/7: step BUILD failed: npm ERR! [2J code 1"  # no escape in the line
    assert "\x1b" not in events[0].summary
    assert diff("amplify:d1/main/7", "amplify", failed, job("FAILED", "FAILED", "CANCELLED"), NOW) == []


def test_device_farm_progress_lists_what_moved_in_one_event() -> None:
    def job(passed: int, failed: int) -> Snapshot:
        counters = {"total": 10, "passed": passed, "failed": failed, "skipped": 0}
        return adapter_for("devicefarm").read({"job": {"status": "RUNNING", "name": "Pixel", "counters": counters}})

    events = diff("devicefarm:x", "devicefarm", job(1, 0), job(4, 1), NOW)
    assert [e.kind for e in events] == [EventKind.PROGRESS]
    assert events[0].detail == {"moved": {"failed": [0, 1], "passed": [1, 4]}}
    assert events[0].summary == "devicefarm Pixel: progress: failed 0 -> 1, passed 1 -> 4"


def test_every_kind_of_change_at_once_comes_in_the_documented_order() -> None:
    before = Snapshot(Phase.RUNNING, "RUNNING", False, result="A", counters={"n": 1}, steps={"BUILD": "RUNNING"})
    after = Snapshot(Phase.FAILED, "FAILED", True, result="B", counters={"n": 2}, steps={"BUILD": "FAILED"},
                     events=(JobEventRecord(at(1), "FAILED", "boom"),), failure="boom")  # fmt: skip
    kinds = [e.kind for e in diff("k", "amplify", before, after, NOW)]
    assert kinds == [EventKind.PHASE, EventKind.RESULT, EventKind.STEP_FAILED, EventKind.JOB_EVENT, EventKind.PROGRESS]


def test_stuck_vanished_and_error_events_read_plainly() -> None:
    snap = braket("RUNNING", [("RUNNING", 1)])
    stuck = stuck_event(KEY, "braket", snap, NOW - timedelta(hours=2, minutes=5), NOW)
    assert (stuck.kind, stuck.new, stuck.summary) == (
        EventKind.STUCK, "running", "braket nightly: no change for 2h 5m (still RUNNING)")  # fmt: skip
    assert stuck.detail["seconds"] == 7500 and stuck.detail["since"] == "2024-05-01T09:55:00+00:00"
    gone = vanished_event(KEY, "braket", snap, NOW)
    assert (gone.kind, gone.old, gone.summary) == (
        EventKind.VANISHED, "running", "braket nightly: no longer found (last seen running, RUNNING)")  # fmt: skip
    assert vanished_event(KEY, "braket", None, NOW).summary == f"{KEY}: no longer found (never seen)"
    error = error_event(KEY, "braket", "AccessDeniedException", "not authorized\nto GetJob" + "x" * 5000, NOW)
    assert error.kind is EventKind.ERROR and error.detail["error"] == "AccessDeniedException"
    assert len(error.detail["message"]) == 2000 and "\n" not in error.summary and len(error.summary) < 400
    assert error.summary.startswith(f"{KEY}: polling fails: AccessDeniedException: not authorized to GetJob")


# ------------------------------------------------------------------------------------------ properties

hostile = st.text(max_size=12) | st.sampled_from(["\x1b[31mred", "a\nb", "\u202eevil", "x" * 3000])
records = st.builds(JobEventRecord, at=st.none() | st.sampled_from([at(1), at(2)]),
                    type=st.sampled_from(["QUEUED", "RUNNING", "FAILED", ""]), message=st.none() | hostile)  # fmt: skip
junk: st.SearchStrategy[Any] = st.none() | st.integers() | hostile | st.lists(st.integers(), max_size=2)
step_detail = junk | st.fixed_dictionaries({"reason": junk, "log_url": junk})
info = st.dictionaries(
    st.sampled_from(["failed_steps", "log_url", "x"]),
    junk | st.dictionaries(st.sampled_from(["BUILD", "TEST"]), step_detail),
    max_size=3,
)
steps = st.dictionaries(
    st.sampled_from(["BUILD", "TEST", "DEPLOY"]), st.sampled_from(["RUNNING", "FAILED", "SUCCEED"]), max_size=3
)

snapshots = st.builds(
    Snapshot,
    phase=st.sampled_from(Phase),
    status=st.sampled_from(["", "QUEUED", "RUNNING", "FAILED", "NEW"]),
    terminal=st.booleans(),
    result=st.none() | st.sampled_from(["PASSED", "FAILED"]),
    name=st.none() | hostile,
    counters=st.dictionaries(st.sampled_from(["passed", "failed", "total"]), st.integers(0, 3), max_size=3),
    steps=steps,
    events=st.lists(records, max_size=4).map(tuple),
    queue_position=st.none() | st.sampled_from(["1", "2"]),
    failure=st.none() | hostile,
    created_at=st.none() | st.just(at(0)),
    info=info,
)


def _valid(events: list[Event]) -> None:
    """What every event list must satisfy: documented order, plain one-line summaries, JSON-ready."""
    ranks = [ORDER.index(e.kind) if e.kind in ORDER else -1 for e in events]
    assert ranks == sorted(ranks)
    for event in events:
        assert event.summary and "\n" not in event.summary and "\x1b" not in event.summary
        assert "\u202e" not in event.summary and len(event.summary) < 2000
        data = json.loads(json.dumps(event.to_dict(), allow_nan=False))
        assert Event.from_dict(data) == event


@settings(max_examples=300, deadline=None)
@given(snapshots)
def test_no_event_when_nothing_changed(snap: Snapshot) -> None:
    assert diff("k", "svc", snap, snap, NOW) == []
    assert diff("k", "svc", snap, dataclasses.replace(snap, counters=dict(snap.counters)), NOW) == []
    # display-only fields and timestamps are not transitions either
    quiet = dataclasses.replace(snap, info={"x": 1}, name="other", failure="f", terminal=not snap.terminal,
                                started_at=NOW, ended_at=NOW)  # fmt: skip
    assert diff("k", "svc", snap, quiet, NOW) == []


@settings(max_examples=500, deadline=None)
@given(snapshots, snapshots)
def test_every_change_yields_exactly_its_events(before: Snapshot, after: Snapshot) -> None:
    events = diff("k", "svc", before, after, NOW)
    _valid(events)
    kinds = [e.kind for e in events]
    assert kinds.count(EventKind.PHASE) == (before.phase is not after.phase)
    assert kinds.count(EventKind.STATUS) == (before.phase is after.phase and before.status != after.status)
    assert kinds.count(EventKind.RESULT) == (before.result != after.result)
    moved = before.counters != after.counters or before.queue_position != after.queue_position
    assert kinds.count(EventKind.PROGRESS) == moved
    newly_failed = [s for s, v in after.steps.items() if v == "FAILED" and before.steps.get(s) != "FAILED"]
    assert [e.detail["step"] for e in events if e.kind is EventKind.STEP_FAILED] == newly_failed
    if kinds.count(EventKind.PHASE):
        phase = next(e for e in events if e.kind is EventKind.PHASE)
        assert (phase.old, phase.new) == (before.phase.value, after.phase.value)


@settings(max_examples=200, deadline=None)
@given(snapshots, st.lists(records, min_size=1, max_size=3))
def test_each_appended_service_event_is_reported_once(snap: Snapshot, extra: list[JobEventRecord]) -> None:
    fresh = [r for r in extra if r not in snap.events]
    after = dataclasses.replace(snap, events=(*snap.events, *fresh))
    reported = [e for e in diff("k", "svc", snap, after, NOW) if e.kind is EventKind.JOB_EVENT]
    assert [(e.detail["type"], e.detail["message"]) for e in reported] == [(r.type, r.message) for r in fresh]


@settings(max_examples=200, deadline=None)
@given(snapshots, st.none() | snapshots, hostile, hostile, st.integers(-(10**6), 10**8))
def test_the_first_poll_and_watcher_events_never_raise(
    snap: Snapshot, last: Snapshot | None, code: str, message: str, seconds: int
) -> None:
    [baseline] = diff("k", "svc", None, snap, NOW)
    assert baseline.kind is EventKind.WATCHING
    events = [baseline, stuck_event("k", "svc", snap, NOW - timedelta(seconds=seconds), NOW),
              vanished_event("k", "svc", last, NOW), error_event("k", "svc", code or "E", message, NOW)]  # fmt: skip
    for event in events:
        _valid([event])
