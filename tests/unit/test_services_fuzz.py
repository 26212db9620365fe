"""Hostile answers through every adapter's ``read``: missing fields, nulls, wrong types, huge strings and
numbers, odd datetimes, unknown enum values. Only AnswerError may escape, and what comes out is a snapshot
the store can keep (JSON) and the differ can compare."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.diff import diff
from watcher.model import SERVICES, Snapshot
from watcher.services import adapter_for
from watcher.services._read import CODE_LIMIT, TEXT_LIMIT
from watcher.services.base import AnswerError

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LOCAL = timezone(timedelta(hours=-7))
MISSING = object()

# Realistic parsed answers (datetimes already aware, as botocore returns them), one per service;
# the fuzzer keeps, drops or replaces each of their fields at every depth.
BASES: dict[str, dict[str, Any]] = {
    "devicefarm": {"job": {
        "arn": "arn:aws:devicefarm:us-west-2:123456789012:job:p/r/00000", "name": "Pixel", "type": "APPIUM_PYTHON",
        "created": datetime(2024, 5, 1, 3, 0, tzinfo=LOCAL), "status": "COMPLETED", "result": "FAILED",
        "started": datetime(2024, 5, 1, 3, 1, tzinfo=LOCAL), "stopped": datetime(2024, 5, 1, 3, 9, tzinfo=LOCAL),
        "counters": {"total": 3, "passed": 1, "failed": 2, "warned": 0, "errored": 0, "stopped": 0, "skipped": 0},
        "message": "2 tests failed", "device": {"name": "Pixel 8", "os": "14", "platform": "ANDROID"},
    }, "ResponseMetadata": {"RequestId": "r", "HTTPStatusCode": 200}},
    "deadline": {
        "jobId": "job-" + "c" * 32, "name": "comp", "lifecycleStatus": "CREATE_COMPLETE", "priority": 50,
        "lifecycleStatusMessage": "ok", "createdAt": datetime(2024, 5, 1, 3, 0, tzinfo=LOCAL), "createdBy": "u",
        "taskRunStatus": "FAILED", "taskRunStatusCounts": {"SUCCEEDED": 4, "FAILED": 1},
        "taskFailureRetryCount": 2, "description": "render", "ResponseMetadata": {"HTTPStatusCode": 200},
    },
    "amplify": {"job": {
        "summary": {"jobId": "42", "commitId": "abc", "commitMessage": "msg", "status": "FAILED",
                    "startTime": datetime(2024, 5, 1, 3, 0, tzinfo=LOCAL), "jobType": "RELEASE"},
        "steps": [{"stepName": "BUILD", "status": "FAILED", "statusReason": "npm", "logUrl": "https://l"},
                  {"stepName": "DEPLOY", "status": "CANCELLED"}],
    }},
    "iot": {"job": {
        "jobId": "ota", "status": "CANCELED", "forceCanceled": True, "reasonCode": "X", "comment": "why",
        "targetSelection": "CONTINUOUS", "completedAt": datetime(2024, 5, 1, 3, 0, tzinfo=LOCAL),
        "jobProcessDetails": {"numberOfSucceededThings": 1, "numberOfFailedThings": 2},
    }},
    "braket": {
        "status": "FAILED", "jobArn": "arn:aws:braket:us-east-1:123456789012:job/n", "jobName": "n",
        "failureReason": "AlgorithmError", "billableDuration": 1000,
        "instanceConfig": {"instanceType": "ml.m5.large", "instanceCount": 1},
        "events": [{"eventType": "RUNNING", "timeOfEvent": datetime(2024, 5, 1, 3, 0, tzinfo=LOCAL), "message": "m"}],
        "queueInfo": {"queue": "JOBS_QUEUE", "position": "2"},
    },
}  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**64, -(2**70)]),  # beyond 64 bits
    st.builds(lambda: 10**5000),  # too many digits to print (built, so hypothesis never has to show it)
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["RUNNING", "COMPLETED", "FAILED", "QUEUED", "CANCELED", "BRAND_NEW_STATUS", "", "\x1b[31m"]),
    st.sampled_from([129, 2001, 100_000, 1_000_000]).map(lambda n: "A" * n),  # long and huge strings
    st.datetimes(timezones=st.none() | st.timezones()),  # naive, aware, and at the ends of the range
    st.sampled_from([datetime.min, datetime.max.replace(tzinfo=timezone(timedelta(hours=-12)))]),
    st.binary(max_size=10),
)
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)


def mutated(value: Any) -> st.SearchStrategy[Any]:
    """``value`` with each field, at every depth, kept, dropped or replaced by junk."""
    if isinstance(value, dict):
        fields = {key: st.one_of(mutated(item), st.just(MISSING), junk) for key, item in value.items()}
        return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not MISSING})
    if isinstance(value, list):
        return st.lists(mutated(value[0]) if value else junk, max_size=4)
    return st.one_of(st.just(value), junk)


def check(service: str, answer: Any) -> None:
    """The only acceptable outcomes of reading ``answer``: AnswerError, or a storable, comparable snapshot."""
    try:
        snap = adapter_for(service).read(answer)
    except AnswerError:
        return
    assert isinstance(snap, Snapshot)
    assert isinstance(snap.status, str) and len(snap.status) <= CODE_LIMIT
    assert isinstance(snap.terminal, bool)
    for text in (snap.failure, snap.result, snap.name, snap.queue_position, *_strings(snap.info)):
        assert text is None or (isinstance(text, str) and len(text) <= TEXT_LIMIT)
    for record in snap.events:
        assert len(record.type) <= CODE_LIMIT and (record.message is None or len(record.message) <= TEXT_LIMIT)
    assert all(isinstance(k, str) and type(v) is int for k, v in snap.counters.items())
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in snap.steps.items())
    for moment in (snap.created_at, snap.started_at, snap.ended_at, *(e.at for e in snap.events)):
        assert moment is None or moment.utcoffset() == timedelta(0)
    if snap.status and snap.status not in adapter_for(service).statuses:
        assert not snap.terminal or service == "deadline"  # a Deadline lifecycle end needs no task status
    stored = json.dumps(snap.to_dict(), allow_nan=False)  # the store keeps snapshots as JSON
    back = Snapshot.from_dict(json.loads(stored))
    assert diff("k", service, back, snap, NOW) == []  # a restart compares with the stored copy
    assert len(diff("k", service, None, snap, NOW)) == 1


def _strings(value: Any) -> list[str]:
    """Every string inside an info value, at any depth."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (*_strings(key), *_strings(item))]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(service=st.sampled_from(SERVICES), answer=junk)
def test_any_value_at_all_reads_as_a_snapshot_or_an_answer_error(service: str, answer: Any) -> None:
    check(service, answer)


@FUZZ
@given(data=st.data(), service=st.sampled_from(SERVICES))
def test_realistic_answers_with_fields_dropped_or_replaced_never_break_read(service: str, data: st.DataObject) -> None:
    check(service, data.draw(mutated(BASES[service])))


@FUZZ
@given(service=st.sampled_from(SERVICES), status=st.text(min_size=1, max_size=20) | st.just("S" * 5000))
def test_any_status_text_reads_without_error(service: str, status: str) -> None:
    answer = json.loads(json.dumps(BASES[service], default=str))
    node = answer
    path = {"devicefarm": ("job", "status"), "deadline": ("taskRunStatus",), "amplify": ("job", "summary", "status"),
            "iot": ("job", "status"), "braket": ("status",)}[service]  # fmt: skip
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = status
    check(service, answer)


def test_the_base_answers_are_read_as_intended() -> None:
    # the fuzzer starts from answers that exercise every branch worth breaking
    for service in SERVICES:
        snap = adapter_for(service).read(BASES[service])
        assert snap.terminal and snap.failure, service
