"""The simulator's small pure parts: merge patch, tokens, the rate window, routing by signing service."""

from __future__ import annotations

from typing import Any

import pytest

from watcher.simulator.errors import SimError
from watcher.simulator.jobs import SimJob, Step
from watcher.simulator.merge import merge_patch, merged
from watcher.simulator.paging import decode_token, encode_token
from watcher.simulator.routing import resolve, signing_service
from watcher.simulator.stats import Stats


def test_merge_patch_merges_objects_replaces_the_rest_and_null_removes() -> None:
    base = {"job": {"status": "PENDING", "counters": {"total": 5, "passed": 0}, "tags": ["a"]}, "gone": 1}
    patch = {"job": {"counters": {"passed": 2}, "tags": ["b", "c"]}, "gone": None, "new": {"x": 1}}
    assert merged(base, [patch]) == {
        "job": {"status": "PENDING", "counters": {"total": 5, "passed": 2}, "tags": ["b", "c"]},
        "new": {"x": 1},
    }
    assert base["job"]["counters"] == {"total": 5, "passed": 0}  # inputs untouched
    assert merge_patch({"a": 1}, "scalar") == "scalar"
    assert merge_patch("scalar", {"a": {"b": None, "c": 2}}) == {"a": {"c": 2}}


def test_a_job_answer_applies_the_steps_whose_time_has_come() -> None:
    job = SimJob(
        service="braket",
        name="n",
        params={"jobArn": "a"},
        base={"status": "QUEUED"},
        steps=[Step(2.0, {"status": "COMPLETED"}), Step(1.0, {"status": "RUNNING"})],
        created=100.0,
        created_wall=0.0,
        seq=1,
    )
    assert [job.answer(t)["status"] for t in (100.0, 100.99, 101.0, 101.5, 102.0, 500.0)] == [
        "QUEUED",
        "QUEUED",
        "RUNNING",
        "RUNNING",
        "COMPLETED",
        "COMPLETED",
    ]
    assert job.finished_at() == 2.0


def test_tokens_round_trip_and_strangers_are_a_validation_error() -> None:
    assert decode_token(encode_token(42)) == 42
    assert len(encode_token(1)) >= 4  # Device Farm's PaginationToken minimum
    for bad in ("", "abc", "!!!!", encode_token(1)[:-4] + "AAAA"):
        with pytest.raises(SimError) as refused:
            decode_token(bad)
        assert refused.value.kind == "validation"


def test_peak_rps_counts_the_busiest_sliding_second() -> None:
    now = [0.0]
    stats = Stats(clock=lambda: now[0])
    for at in (0.0, 0.1, 0.2, 0.9, 1.05, 1.1, 1.15, 3.0):
        now[0] = at
        stats.request("iot", "DescribeJob")
    # 0.2, 0.9, 1.05, 1.1, 1.15 fall within one second: five, more than either fixed second holds.
    assert stats.to_json()["peak_rps"] == {"iot": 5}
    assert stats.to_json()["operations"]["iot:DescribeJob"]["requests"] == 8


def auth(service: str) -> dict[str, str]:
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential=AKID/20240501/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host, Signature=abc"
    }


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        ("GET", "/jobs", auth("iot"), ("iot", "ListJobs")),
        ("GET", "/jobs", {}, ("iot", "ListJobs")),
        ("POST", "/jobs", auth("braket"), ("braket", "SearchJobs")),
        ("GET", "/jobs", auth("braket"), ("braket", None)),
        ("POST", "/jobs", auth("iot"), ("iot", None)),
        ("GET", "/jobs/ota-1", auth("iot"), ("iot", "DescribeJob")),
        ("GET", "/job/arn%3Aaws%3Abraket%3Aus-east-1%3A123456789012%3Ajob%2Fx", auth("braket"), ("braket", "GetJob")),
        ("GET", "/apps/dabc/branches/feature%2Fx/jobs/3", auth("amplify"), ("amplify", "GetJob")),
        ("GET", "/apps/dabc/branches/main/jobs/3", auth("iot"), ("iot", None)),
        ("POST", "/", {"X-Amz-Target": "DeviceFarm_20150623.GetJob"}, ("devicefarm", "GetJob")),
        ("POST", "/", {"X-Amz-Target": "DeviceFarm_20150623.ListRuns"}, ("devicefarm", None)),
        ("POST", "/", {"X-Amz-Target": "Kinesis_20131202.ListStreams"}, (None, None)),
        ("GET", "/elsewhere", {}, (None, None)),
    ],
)
def test_routing_uses_path_and_signing_service(
    method: str, path: str, headers: dict[str, str], expected: tuple[Any, Any]
) -> None:
    found = resolve(method, path, headers)
    assert (found.service, found.operation) == expected


def test_signing_service_reads_the_credential_scope() -> None:
    assert signing_service(auth("deadline")["Authorization"]) == "deadline"
    assert signing_service("Bearer xyz") is None
    assert signing_service(None) is None
