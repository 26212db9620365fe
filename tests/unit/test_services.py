"""The five service adapters, checked against botocore's own service models and against answers that
botocore's real response parser produced from wire bytes (so timestamps are local-time aware and
``ResponseMetadata`` is present, exactly as an aiobotocore client returns them)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import botocore.parsers
import botocore.session
import pytest
from botocore.validate import ParamValidator

from watcher.diff import diff
from watcher.model import SERVICES, JobRef, Phase, Snapshot
from watcher.services import adapter_for
from watcher.services.base import Adapter, AnswerError
from watcher.services.deadline import FAILED_LIFECYCLE

SESSION = botocore.session.get_session()
OPERATIONS = {  # botocore operation of each adapter's read call, and where its primary status lives
    "devicefarm": ("GetJob", ("job", "status")),
    "deadline": ("GetJob", ("taskRunStatus",)),
    "amplify": ("GetJob", ("job", "summary", "status")),
    "iot": ("DescribeJob", ("job", "status")),
    "braket": ("GetJob", ("status",)),
}
VALID_IDS = {
    "devicefarm": {"arn": "arn:aws:devicefarm:us-west-2:123456789012:job:5e01a8c7-c861-4c0a/0f2b3a/00000"},
    "deadline": {
        "farmId": "farm-" + "a" * 32,
        "queueId": "queue-" + "b" * 32,
        "jobId": "job-" + "c" * 32,
    },
    "amplify": {"appId": "d2ab3cd4ef5gh6", "branchName": "feature/login", "jobId": "42"},
    "iot": {"jobId": "ota-firmware-2024_05"},
    "braket": {"jobArn": "arn:aws:braket:us-east-1:123456789012:job/nightly-vqe"},
}
T0 = 1714557600  # 2024-05-01 10:00:00 UTC


def parsed(service: str, body: Mapping[str, Any], operation: str | None = None) -> dict[str, Any]:
    """What an aiobotocore client returns for this JSON body: botocore's real parser over real bytes."""
    model = SESSION.get_service_model(service)
    op = model.operation_model(operation or OPERATIONS[service][0])
    parser = botocore.parsers.create_parser(model.protocol)
    response = {
        "status_code": 200,
        "headers": {"x-amzn-requestid": "req-1", "content-type": "application/json"},
        "body": json.dumps(body).encode(),
    }
    answer: dict[str, Any] = parser.parse(response, op.output_shape)
    return answer


def with_status(service: str, status: str, **extra: Any) -> dict[str, Any]:
    """A minimal parsed answer whose primary status is ``status``."""
    path = OPERATIONS[service][1]
    body: dict[str, Any] = dict(extra)
    node = body
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = status
    if service == "braket":
        body.setdefault("jobArn", VALID_IDS["braket"]["jobArn"])
    if service == "deadline":
        body.setdefault("jobId", VALID_IDS["deadline"]["jobId"])
    return parsed(service, body)


def status_enum(service: str) -> list[str]:
    """The enum of the primary status shape in botocore's model."""
    shape = SESSION.get_service_model(service).operation_model(OPERATIONS[service][0]).output_shape
    for key in OPERATIONS[service][1]:
        shape = shape.members[key]  # type: ignore[attr-defined]
    return list(shape.enum)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------------------- the models


@pytest.mark.parametrize("service", SERVICES)
def test_every_status_in_botocores_model_maps_to_a_sensible_phase(service: str) -> None:
    adapter = adapter_for(service)
    values = status_enum(service)
    assert set(adapter.statuses) == set(values), "the status map and botocore's enum differ"
    for value in values:
        phase = adapter.statuses[value]
        assert phase is not Phase.UNKNOWN
        if "FAIL" in value or value == "NOT_COMPATIBLE":
            assert phase is Phase.FAILED, value
        elif value.endswith("ING") and value != "RUNNING":  # PENDING, CANCELLING, STOPPING...: not an end
            assert not phase.terminal, value
        elif value in ("CANCELED", "CANCELLED", "SUSPENDED"):
            assert phase is Phase.CANCELLED, value
        elif value in ("SUCCEEDED", "SUCCEED", "COMPLETED"):
            assert phase is Phase.SUCCEEDED, value
        elif value in ("QUEUED", "READY", "CREATED", "SCHEDULED") and service != "deadline":
            assert phase is Phase.QUEUED, value
        # the read of a bare answer agrees with the map, and ends exactly on the terminal statuses
        snapshot = adapter.read(with_status(service, value, **_result_for(service, value)))
        assert snapshot.status == value
        assert snapshot.terminal == (value in adapter.terminal_statuses), value  # type: ignore[attr-defined]
        assert snapshot.phase.terminal == snapshot.terminal, value
        if service != "devicefarm":  # a completed Device Farm job's phase comes from its result
            assert snapshot.phase is phase, value


def _result_for(service: str, status: str) -> dict[str, Any]:
    return {"job": {"result": "PASSED"}} if service == "devicefarm" and status == "COMPLETED" else {}


@pytest.mark.parametrize("service", SERVICES)
def test_an_unknown_status_reads_as_unknown_and_keeps_the_job_watched(service: str) -> None:
    snapshot = adapter_for(service).read(with_status(service, "QUANTUM_ENTANGLED"))
    assert snapshot.phase is Phase.UNKNOWN
    assert snapshot.status == "QUANTUM_ENTANGLED"
    assert not snapshot.terminal


@pytest.mark.parametrize("service", SERVICES)
def test_identity_fields_are_the_read_calls_required_parameters_with_the_models_constraints(service: str) -> None:
    adapter = adapter_for(service)
    op = SESSION.get_service_model(service).operation_model(OPERATIONS[service][0])
    assert op.name == "".join(part.title() for part in adapter.operation.split("_"))
    assert set(adapter.identity) == set(op.input_shape.required_members)
    for spec in adapter.fields:  # type: ignore[attr-defined]
        metadata = op.input_shape.members[spec.name].metadata
        assert spec.pattern == metadata["pattern"].lstrip("^")
        assert spec.min_length == metadata.get("min", 1)
        assert spec.max_length == metadata.get("max")


@pytest.mark.parametrize("service", SERVICES)
def test_the_read_request_passes_botocores_own_parameter_validation(service: str) -> None:
    adapter = adapter_for(service)
    params = VALID_IDS[service]
    assert adapter.check_params(params) == []
    op = SESSION.get_service_model(service).operation_model(OPERATIONS[service][0])
    report = ParamValidator().validate(adapter.request(params), op.input_shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("service", SERVICES)
def test_check_params_names_missing_extra_and_ill_typed_fields(service: str) -> None:
    adapter = adapter_for(service)
    params: dict[str, Any] = dict(VALID_IDS[service])
    first = adapter.identity[0]
    params[first] = 12345
    params["region"] = "us-east-1"
    missing = dict(VALID_IDS[service])
    del missing[adapter.identity[-1]]
    problems = adapter.check_params(params)
    assert any(repr(first) in p and "string" in p for p in problems), problems
    assert any("'region'" in p and "unexpected" in p for p in problems), problems
    assert [p for p in adapter.check_params(missing) if repr(adapter.identity[-1]) in p and "missing" in p]
    assert adapter.check_params({**VALID_IDS[service], first: ""}) == [f"field {first!r} is empty"]


def test_device_farm_arns_shorter_than_32_characters_are_refused_before_any_call() -> None:
    short = "arn:aws:devicefarm:us-west-2:1:j"  # 32 characters: the least the client takes
    assert adapter_for("devicefarm").check_params({"arn": short}) == []
    problems = adapter_for("devicefarm").check_params({"arn": short[:-1]})
    assert len(problems) == 1 and "at least 32" in problems[0] and "'arn'" in problems[0]
    wrong = adapter_for("devicefarm").check_params({"arn": "arn:aws:braket:us-east-1:123456789012:job/x"})
    assert "does not look like" in wrong[0]


def test_ids_that_do_not_match_the_models_patterns_are_refused() -> None:
    problems = adapter_for("deadline").check_params({**VALID_IDS["deadline"], "farmId": "farm-1"})
    assert problems == ["field 'farmId' ('farm-1') does not look like farm- followed by 32 hex digits"]
    assert adapter_for("amplify").check_params({**VALID_IDS["amplify"], "jobId": "latest"})
    assert adapter_for("iot").check_params({"jobId": "x" * 65})
    assert adapter_for("braket").check_params({"jobArn": "nightly"})


@pytest.mark.parametrize("service", SERVICES)
def test_discovery_calls_exist_and_their_requests_pass_botocores_validation(service: str) -> None:
    adapter = adapter_for(service)
    discovery = adapter.discovery
    assert discovery is not None
    model = SESSION.get_service_model(service)
    op = model.operation_model("".join(p.title() for p in discovery.operation.split("_")))
    assert discovery.items_key in op.output_shape.members
    assert op.output_shape.members[discovery.items_key].type_name == "list"
    assert set(discovery.required) | set(discovery.optional) <= set(op.input_shape.members)
    rule = {name: VALID_IDS[service].get(name, "") for name in discovery.required}
    rule = {**_discovery_rule(service), **rule}
    call = adapter.discovery_request({**rule, "name": "a rule's own key", "tags": ["x"]})
    report = ParamValidator().validate(call, op.input_shape)
    assert not report.has_errors(), report.generate_report()
    for name in discovery.required:
        with pytest.raises(ValueError, match=name):
            adapter.discovery_request({k: v for k, v in rule.items() if k != name})


def _discovery_rule(service: str) -> dict[str, Any]:
    return {
        "devicefarm": {"arn": "arn:aws:devicefarm:us-west-2:123456789012:run:5e01a8c7-c861-4c0a/0f2b3a"},
        "deadline": {"farmId": VALID_IDS["deadline"]["farmId"], "queueId": VALID_IDS["deadline"]["queueId"]},
        "amplify": {"appId": "d2ab3cd4ef5gh6", "branchName": "main"},
        "iot": {"status": "IN_PROGRESS", "thingGroupName": "sensors"},
        "braket": {"filters": [{"name": "jobName", "values": ["nightly"], "operator": "CONTAINS"}]},
    }[service]


DISCOVERY_ITEMS = {
    "devicefarm": ({"arn": VALID_IDS["devicefarm"]["arn"], "name": "Pixel 8", "status": "RUNNING"}, "Pixel 8"),
    "deadline": ({"jobId": VALID_IDS["deadline"]["jobId"], "name": "shot 010 comp"}, "shot 010 comp"),
    "amplify": ({"jobId": "42", "status": "RUNNING", "commitMessage": "fix"}, None),
    "iot": ({"jobId": "ota-firmware-2024_05", "status": "IN_PROGRESS"}, None),
    "braket": ({"jobArn": VALID_IDS["braket"]["jobArn"], "jobName": "nightly-vqe"}, "nightly-vqe"),
}


@pytest.mark.parametrize("service", SERVICES)
def test_a_discovered_item_becomes_a_valid_identity(service: str) -> None:
    adapter = adapter_for(service)
    rule = (
        {**_discovery_rule(service), "branchName": "feature/login"}
        if service == "amplify"
        else _discovery_rule(service)
    )
    item, name = DISCOVERY_ITEMS[service]
    params, found_name = adapter.discovered(rule, item)
    assert adapter.check_params(params) == []
    assert found_name == name
    assert JobRef(service, params).key.startswith(f"{service}:")
    with pytest.raises(AnswerError):
        adapter.discovered(rule, {"name": "no identity"})


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (
            "devicefarm",
            "https://us-west-2.console.aws.amazon.com/devicefarm/home?region=us-west-2"
            "#/mobile/projects/5e01a8c7-c861-4c0a/runs/0f2b3a",
        ),
        (
            "deadline",
            "https://eu-west-1.console.aws.amazon.com/deadlinecloud/home?region=eu-west-1#/farms/farm-" + "a" * 32,
        ),
        (
            "amplify",
            "https://eu-west-1.console.aws.amazon.com/amplify/home?region=eu-west-1#/d2ab3cd4ef5gh6/feature%2Flogin/42",
        ),
        ("iot", "https://eu-west-1.console.aws.amazon.com/iot/home?region=eu-west-1#/job/ota-firmware-2024_05"),
        (
            "braket",
            "https://us-east-1.console.aws.amazon.com/braket/home?region=us-east-1"
            "#/jobs/arn:aws:braket:us-east-1:123456789012:job/nightly-vqe",
        ),
    ],
)
def test_console_links_point_at_the_jobs_page_in_the_jobs_region(service: str, expected: str) -> None:
    assert adapter_for(service).console_url(VALID_IDS[service], "eu-west-1") == expected


def test_console_links_are_none_when_the_identity_cannot_make_one() -> None:
    assert (
        adapter_for("devicefarm").console_url({"arn": "arn:aws:devicefarm:us-west-2:1:project:x"}, "us-west-2") is None
    )
    assert adapter_for("braket").console_url({}, "us-east-1") is None


# ------------------------------------------------------------------------------- answers, service by service


def test_device_farm_running_job_reports_counters_device_and_utc_times() -> None:
    answer = parsed("devicefarm", {"job": {
        "arn": VALID_IDS["devicefarm"]["arn"], "name": "Google Pixel 8", "type": "APPIUM_PYTHON",
        "created": T0, "started": T0 + 60, "status": "RUNNING", "result": "PENDING",
        "counters": {"total": 12, "passed": 5, "failed": 0, "warned": 1, "errored": 0, "stopped": 0, "skipped": 0},
        "device": {"arn": "arn:aws:devicefarm:us-west-2::device:ABCDEF0123456789", "name": "Google Pixel 8",
                   "os": "14", "platform": "ANDROID"},
    }})  # fmt: skip
    snap = adapter_for("devicefarm").read(answer)
    assert (snap.phase, snap.status, snap.result, snap.terminal) == (Phase.RUNNING, "RUNNING", "PENDING", False)
    assert snap.counters == {"total": 12, "passed": 5, "failed": 0, "warned": 1, "errored": 0, "stopped": 0,
                             "skipped": 0}  # fmt: skip
    assert snap.info["device"] == "Google Pixel 8" and snap.info["platform"] == "ANDROID"
    assert snap.created_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert snap.started_at is not None and snap.started_at.utcoffset() is not None
    assert snap.failure is None


@pytest.mark.parametrize(
    ("result", "phase"),
    [("PASSED", Phase.SUCCEEDED), ("WARNED", Phase.SUCCEEDED), ("SKIPPED", Phase.SUCCEEDED),
     ("FAILED", Phase.FAILED), ("ERRORED", Phase.FAILED), ("STOPPED", Phase.CANCELLED),
     ("PENDING", Phase.UNKNOWN), ("SOMETHING_NEW", Phase.UNKNOWN)],
)  # fmt: skip
def test_device_farm_completed_job_takes_its_phase_from_the_result(result: str, phase: Phase) -> None:
    answer = parsed("devicefarm", {"job": {"status": "COMPLETED", "result": result, "stopped": T0,
                                            "message": "Tests failed on 2 devices"}})  # fmt: skip
    snap = adapter_for("devicefarm").read(answer)
    assert snap.phase is phase and snap.terminal and snap.result == result
    assert snap.ended_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert (snap.failure == "Tests failed on 2 devices") == (phase in (Phase.FAILED, Phase.CANCELLED))


@pytest.fixture
def pacific_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run with the process in US Pacific time, so botocore's local-time datetimes carry an offset."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_local_time_timestamps_are_converted_to_utc(pacific_time: None) -> None:
    answer = parsed("devicefarm", {"job": {"status": "RUNNING", "created": T0}})
    assert answer["job"]["created"].utcoffset().total_seconds() == -7 * 3600  # botocore's tzlocal(), PDT
    created = adapter_for("devicefarm").read(answer).created_at
    assert created is not None and created.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert (created.hour, created.tzinfo) == (10, UTC)


def test_deadline_terminal_set_agrees_with_botocores_job_complete_waiter() -> None:
    waiter = SESSION.get_waiter_model("deadline").get_waiter("JobComplete")
    assert waiter.operation == "GetJob"
    for acceptor in waiter.acceptors:  # the check below understands exactly this kind of acceptor
        assert acceptor.matcher == "path" and acceptor.argument.isidentifier(), acceptor.argument

    def waiter_stops(answer: Mapping[str, Any]) -> bool:
        return any(answer.get(a.argument) == a.expected for a in waiter.acceptors if a.state in ("success", "failure"))

    model = SESSION.get_service_model("deadline").operation_model("GetJob").output_shape.members
    tasks = [*model["taskRunStatus"].enum, None]  # type: ignore[attr-defined]
    lifecycles = [*model["lifecycleStatus"].enum, None]  # type: ignore[attr-defined]
    for task, lifecycle in itertools.product(tasks, lifecycles):
        body = {k: v for k, v in {"jobId": VALID_IDS["deadline"]["jobId"], "taskRunStatus": task,
                                  "lifecycleStatus": lifecycle}.items() if v is not None}  # fmt: skip
        answer = parsed("deadline", body)
        snap = adapter_for("deadline").read(answer)
        assert snap.terminal == (waiter_stops(answer) or lifecycle in FAILED_LIFECYCLE), (task, lifecycle)
        assert snap.phase.terminal == snap.terminal, (task, lifecycle, snap.phase)


def test_deadline_running_job_counts_tasks_by_status_and_keeps_display_fields() -> None:
    answer = parsed("deadline", {
        "jobId": VALID_IDS["deadline"]["jobId"], "name": "shot 010 comp", "lifecycleStatus": "CREATE_COMPLETE",
        "lifecycleStatusMessage": "", "priority": 50, "createdAt": "2024-05-01T10:00:00Z", "createdBy": "user-1",
        "taskRunStatus": "RUNNING", "taskRunStatusCounts": {"SUCCEEDED": 4, "RUNNING": 2, "READY": 6, "FAILED": 0},
        "taskFailureRetryCount": 1, "description": "<script>alert(1)</script>" + "d" * 5000,
    })  # fmt: skip
    snap = adapter_for("deadline").read(answer)
    assert (snap.phase, snap.status, snap.result) == (Phase.RUNNING, "RUNNING", "CREATE_COMPLETE")
    assert snap.counters == {"succeeded": 4, "running": 2, "ready": 6, "failed": 0}
    assert snap.info["priority"] == 50 and snap.info["task_failure_retry_count"] == 1
    assert snap.info["description"].startswith("<script>") and len(snap.info["description"]) == 2000
    assert snap.name == "shot 010 comp"


def test_deadline_failures_say_what_failed() -> None:
    failed = adapter_for("deadline").read(parsed("deadline", {
        "jobId": VALID_IDS["deadline"]["jobId"], "lifecycleStatus": "CREATE_COMPLETE", "taskRunStatus": "FAILED",
        "lifecycleStatusMessage": "Job creation complete.",
        "taskRunStatusCounts": {"SUCCEEDED": 8, "FAILED": 2},
    }))  # fmt: skip
    assert (failed.phase, failed.failure) == (Phase.FAILED, "2 of 10 tasks failed")
    never = adapter_for("deadline").read(parsed("deadline", {
        "jobId": VALID_IDS["deadline"]["jobId"], "lifecycleStatus": "UPLOAD_FAILED",
        "lifecycleStatusMessage": "Attachment upload failed: AccessDenied",
    }))  # fmt: skip
    assert (never.phase, never.terminal, never.status) == (Phase.FAILED, True, "")
    assert never.failure == "Attachment upload failed: AccessDenied"
    archived = adapter_for("deadline").read(with_status("deadline", "READY", lifecycleStatus="ARCHIVED"))
    assert (archived.phase, archived.terminal) == (Phase.CANCELLED, True)
    creating = adapter_for("deadline").read(
        parsed("deadline", {"jobId": "job-1", "lifecycleStatus": "CREATE_IN_PROGRESS"})
    )
    assert (creating.phase, creating.terminal) == (Phase.QUEUED, False)


AMPLIFY_FAILED = {"job": {
    "summary": {"jobArn": "arn:aws:amplify:eu-west-1:123456789012:apps/d2ab3cd4ef5gh6/branches/main/jobs/0000000042",
                "jobId": "42", "commitId": "4f1c2ab", "commitMessage": "Fix login\n\n<img src=x onerror=alert(1)>",
                "commitTime": T0 - 300, "startTime": T0, "endTime": T0 + 420, "status": "FAILED",
                "jobType": "WEB_HOOK"},
    "steps": [
        {"stepName": "BUILD", "startTime": T0, "status": "FAILED", "endTime": T0 + 400,
         "logUrl": "https://amplify-logs.s3.amazonaws.com/build.log?X-Amz-Signature=abc",
         "statusReason": "npm ERR! code ELIFECYCLE"},
        {"stepName": "DEPLOY", "status": "CANCELLED"},
        {"stepName": "VERIFY", "status": "CANCELLED"},
    ],
}}  # fmt: skip


def test_amplify_failed_job_names_the_failed_step_its_reason_and_log() -> None:
    snap = adapter_for("amplify").read(parsed("amplify", AMPLIFY_FAILED))
    assert (snap.phase, snap.status, snap.terminal) == (Phase.FAILED, "FAILED", True)
    assert snap.steps == {"BUILD": "FAILED", "DEPLOY": "CANCELLED", "VERIFY": "CANCELLED"}
    assert snap.failure == "BUILD step failed: npm ERR! code ELIFECYCLE"
    assert snap.info["log_url"].endswith("X-Amz-Signature=abc")
    assert snap.info["commit_message"].startswith("Fix login") and snap.info["job_type"] == "WEB_HOOK"
    assert snap.info["failed_steps"]["BUILD"]["reason"] == "npm ERR! code ELIFECYCLE"
    assert (snap.started_at, snap.ended_at) == (datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
                                                datetime(2024, 5, 1, 10, 7, tzinfo=UTC))  # fmt: skip


def test_amplify_created_job_is_queued_and_has_no_failure() -> None:
    snap = adapter_for("amplify").read(parsed("amplify", {"job": {"summary": {"status": "CREATED", "jobId": "43"},
                                                                   "steps": []}}))  # fmt: skip
    assert (snap.phase, snap.steps, snap.failure, snap.terminal) == (Phase.QUEUED, {}, None, False)


def test_iot_job_counts_things_and_marks_continuous_jobs() -> None:
    snap = adapter_for("iot").read(parsed("iot", {"documentSource": "s3://b/doc.json", "job": {
        "jobArn": "arn:aws:iot:eu-west-1:123456789012:job/ota", "jobId": "ota", "targetSelection": "CONTINUOUS",
        "status": "IN_PROGRESS", "forceCanceled": False, "createdAt": T0, "description": "OTA 1.2.3",
        "jobProcessDetails": {"numberOfSucceededThings": 40, "numberOfFailedThings": 0,
                              "numberOfQueuedThings": 10, "numberOfInProgressThings": 5},
    }}))  # fmt: skip
    assert (snap.phase, snap.result, snap.name) == (Phase.RUNNING, None, "ota")
    assert snap.counters == {"succeeded": 40, "failed": 0, "queued": 10, "in_progress": 5}
    assert snap.info["continuous"] is True and snap.info["description"] == "OTA 1.2.3"


def test_iot_completed_job_succeeds_and_its_failed_things_show_in_the_counters() -> None:
    # AWS calls the job COMPLETED once every execution ended; a few failed devices do not fail a rollout
    body = {"job": {"jobId": "ota", "status": "COMPLETED", "completedAt": T0, "jobProcessDetails": {
        "numberOfSucceededThings": 7, "numberOfFailedThings": 2, "numberOfTimedOutThings": 1}}}  # fmt: skip
    snap = adapter_for("iot").read(parsed("iot", body))
    assert (snap.phase, snap.terminal, snap.failure) == (Phase.SUCCEEDED, True, None)
    assert snap.counters == {"succeeded": 7, "failed": 2, "timed_out": 1}
    assert snap.ended_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_iot_job_cancelled_by_its_abort_config_says_why() -> None:
    snap = adapter_for("iot").read(parsed("iot", {"job": {
        "jobId": "ota", "status": "CANCELED", "forceCanceled": True, "reasonCode": "FAILURE_THRESHOLD_REACHED",
        "comment": "Job canceled: 30% of things failed", "completedAt": T0}}))  # fmt: skip
    assert (snap.phase, snap.terminal) == (Phase.CANCELLED, True)
    assert snap.result == "FAILURE_THRESHOLD_REACHED (forced)"
    assert snap.failure == "FAILURE_THRESHOLD_REACHED: Job canceled: 30% of things failed"


BRAKET_FAILED = {
    "status": "FAILED", "jobArn": VALID_IDS["braket"]["jobArn"], "jobName": "nightly-vqe",
    "roleArn": "arn:aws:iam::123456789012:role/BraketJobs", "failureReason": "AlgorithmError: division by zero",
    "createdAt": "2024-05-01T10:00:00.000Z", "startedAt": "2024-05-01T10:02:00.000Z",
    "endedAt": "2024-05-01T10:09:30.000Z", "billableDuration": 450000,
    "outputDataConfig": {"s3Path": "s3://amazon-braket-out/jobs"},
    "algorithmSpecification": {"scriptModeConfig": {"entryPoint": "vqe:main", "s3Uri": "s3://b/source.tar.gz"}},
    "instanceConfig": {"instanceType": "ml.m5.large", "volumeSizeInGb": 30, "instanceCount": 1},
    "deviceConfig": {"device": "arn:aws:braket:::device/quantum-simulator/amazon/sv1"},
    "events": [
        {"eventType": "QUEUED_FOR_EXECUTION", "timeOfEvent": "2024-05-01T10:00:01.000Z", "message": "queued"},
        {"eventType": "RUNNING", "timeOfEvent": "2024-05-01T10:02:00.000Z"},
        {"eventType": "FAILED", "timeOfEvent": "2024-05-01T10:09:30.000Z", "message": "AlgorithmError"},
    ],
    "queueInfo": {"queue": "JOBS_QUEUE", "position": "None"},
}  # fmt: skip


def test_braket_failed_job_reads_reason_events_and_billing() -> None:
    snap = adapter_for("braket").read(parsed("braket", BRAKET_FAILED))
    assert (snap.phase, snap.terminal, snap.name) == (Phase.FAILED, True, "nightly-vqe")
    assert snap.failure == "AlgorithmError: division by zero"
    assert [e.type for e in snap.events] == ["QUEUED_FOR_EXECUTION", "RUNNING", "FAILED"]
    assert snap.events[0].at == datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC) and snap.events[1].message is None
    assert snap.info["billable_duration_ms"] == 450000 and snap.info["instance_type"] == "ml.m5.large"


def test_braket_queued_job_reads_its_queue_position_and_asks_for_it_afresh_each_call() -> None:
    snap = adapter_for("braket").read(parsed("braket", {
        "status": "QUEUED", "jobArn": VALID_IDS["braket"]["jobArn"],
        "queueInfo": {"queue": "JOBS_QUEUE", "position": "3", "message": "Your job is 3rd in the queue"},
    }))  # fmt: skip
    assert (snap.phase, snap.queue_position) == (Phase.QUEUED, "3")
    first = adapter_for("braket").request(VALID_IDS["braket"])
    first["additionalAttributeNames"].append("Other")
    assert adapter_for("braket").request(VALID_IDS["braket"])["additionalAttributeNames"] == ["QueueInfo"]


@pytest.mark.parametrize(
    ("service", "answer"),
    [("devicefarm", {"ResponseMetadata": {}}), ("amplify", {"job": None}), ("iot", {"job": "gone"}),
     ("deadline", {"ResponseMetadata": {"HTTPStatusCode": 200}}), ("braket", {}), ("braket", ["not", "a", "map"])],
)  # fmt: skip
def test_an_answer_without_a_job_is_an_answer_error(service: str, answer: Any) -> None:
    with pytest.raises(AnswerError):
        adapter_for(service).read(answer)


def _realistic(service: str) -> Snapshot:
    answers = {
        "devicefarm": parsed("devicefarm", {"job": {"status": "COMPLETED", "result": "FAILED", "created": T0,
                                                     "counters": {"total": 3, "failed": 1}, "message": "x"}}),
        "deadline": parsed("deadline", {"jobId": "job-1", "taskRunStatus": "RUNNING", "createdAt": T0,
                                         "lifecycleStatus": "CREATE_COMPLETE", "taskRunStatusCounts": {"READY": 1}}),
        "amplify": parsed("amplify", AMPLIFY_FAILED),
        "iot": parsed("iot", {"job": {"jobId": "ota", "status": "IN_PROGRESS", "createdAt": T0,
                                      "jobProcessDetails": {"numberOfQueuedThings": 3}}}),
        "braket": parsed("braket", BRAKET_FAILED),
    }  # fmt: skip
    return adapter_for(service).read(answers[service])


@pytest.mark.parametrize("service", SERVICES)
def test_a_snapshot_stored_as_json_and_read_back_shows_no_change(service: str) -> None:
    # what a restart does: the stored snapshot is compared with the next poll's
    snap = _realistic(service)
    stored = Snapshot.from_dict(json.loads(json.dumps(snap.to_dict(), allow_nan=False)))
    assert diff("k", service, stored, snap, datetime.now(UTC)) == []


def test_every_adapter_satisfies_the_protocol() -> None:
    for service in SERVICES:
        adapter: Adapter = adapter_for(service)
        assert adapter.service == service
        assert adapter.default_region == ("us-west-2" if service == "devicefarm" else None)
