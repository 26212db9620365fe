"""Amazon Braket hybrid jobs (rest-json): GetJob (GET /job/{jobArn}) and SearchJobs (POST /jobs). ISO timestamps."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from watcher.simulator.errors import SimError
from watcher.simulator.jobs import Step
from watcher.simulator.models import member_names
from watcher.simulator.paging import page, project
from watcher.simulator.services.base import (
    ACCOUNT,
    Allocator,
    Call,
    Handler,
    Timeline,
    dig,
    find,
    pick_outcome,
    text_status,
)
from watcher.simulator.wire import iso

REGION = "us-east-1"
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,50}")
BUCKET = f"s3://amazon-braket-{REGION}-{ACCOUNT}/jobs"
DEVICES = (
    "arn:aws:braket:::device/quantum-simulator/amazon/sv1",
    "arn:aws:braket:::device/quantum-simulator/amazon/dm1",
    "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1",
    "arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3",
)
WHAT = ("qaoa-maxcut", "vqe-h2", "qml-classifier", "grover-search", "shor-demo")
FAILURES = (
    "AlgorithmError: ModuleNotFoundError: No module named 'pennylane_lightning' (check the job's requirements.txt).",
    "AlgorithmError: ValueError: Circuit depth 412 exceeds the device's maximum of 300 for Ankaa-3.",
    "ClientError: The device arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3 is offline (maintenance window).",
)


def event(kind: str, at: Any, message: str) -> dict[str, Any]:
    """One entry of a job's events list."""
    return {"eventType": kind, "timeOfEvent": at, "message": message}


class BraketSim:
    """Braket hybrid jobs: queued behind other jobs (queueInfo), then running on a device."""

    service = "braket"
    identity = ("jobArn",)
    overridable = ()

    def check_name(self, name: str) -> str | None:
        if len(name) <= 50 and _NAME.fullmatch(name):
            return None
        return "braket job names are up to 50 letters, digits or '-', starting and ending with a letter or digit"

    def make_params(self, name: str, overrides: Mapping[str, str], alloc: Allocator) -> dict[str, str]:
        return {"jobArn": f"arn:aws:braket:{REGION}:{ACCOUNT}:job/{name}"}

    def base(self, name: str, params: Mapping[str, str], created: float) -> dict[str, Any]:
        return {
            "status": "QUEUED",
            "jobArn": params["jobArn"],
            "jobName": name,
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonBraketJobsExecutionRole",
            "outputDataConfig": {"s3Path": f"{BUCKET}/{name}/data"},
            "checkpointConfig": {"localPath": "/opt/jobs/checkpoints", "s3Uri": f"{BUCKET}/{name}/checkpoints"},
            "algorithmSpecification": {
                "scriptModeConfig": {
                    "entryPoint": "algorithm_script:start_here",
                    "s3Uri": f"{BUCKET}/{name}/script/source.tar.gz",
                    "compressionType": "GZIP",
                }
            },
            "instanceConfig": {"instanceType": "ml.m5.large", "volumeSizeInGb": 30, "instanceCount": 1},
            "stoppingCondition": {"maxRuntimeInSeconds": 432000},
            "deviceConfig": {"device": DEVICES[0]},
            "createdAt": iso(created),
            "hyperParameters": {"shots": "1000", "p": "2"},
            "events": [event("QUEUED_FOR_EXECUTION", iso(created), "Job queued for execution.")],
            "queueInfo": {"queue": "JOBS_QUEUE", "position": "1"},
            "tags": {},
        }

    def status(self, answer: Mapping[str, Any]) -> str | None:
        return text_status(answer.get("status"))

    def random_identity(self, rng: random.Random, index: int, memo: dict[str, Any]) -> tuple[str, dict[str, str]]:
        return f"{rng.choice(WHAT)}-{rng.getrandbits(24):06x}-{index}", {}

    def lifecycle(
        self, rng: random.Random, name: str, params: Mapping[str, str], created: float, scale: float
    ) -> list[Step]:
        t = Timeline(created, scale, iso)
        device = rng.choice(DEVICES)
        position = rng.randint(2, 8)
        queued = rng.uniform(4, 10)
        running = rng.uniform(10, 35)
        outcome = pick_outcome(rng)
        events = [event("QUEUED_FOR_EXECUTION", t.stamp(0), "Job queued for execution.")]
        t.at(
            0,
            {
                "deviceConfig": {"device": device},
                "events": list(events),
                "hyperParameters": {"shots": str(rng.choice((100, 1000, 5000))), "p": str(rng.randint(1, 4))},
                "queueInfo": {"queue": "JOBS_QUEUE", "position": str(position)},
            },
        )
        # Cancelled while still queued, sometimes: the queue stops draining for us at the cut.
        cut = queued * 0.6 if outcome == "cancel" and rng.random() < 0.4 else None
        for i in range(1, position):  # the queue drains ahead of us
            if cut is None or queued * i / position < cut:
                t.at(queued * i / position, {"queueInfo": {"position": str(position - i)}})
        if cut is not None:
            t.at(cut, {"status": "CANCELLING"})
            events.append(event("CANCELLED", t.stamp(cut + 1), "Job cancelled by the user."))
            t.at(cut + 1, {"status": "CANCELLED", "queueInfo": None, "endedAt": t.stamp(cut + 1), "events": events})
            return t.steps
        events.append(event("STARTING_INSTANCE", t.stamp(queued), "Provisioning job instance ml.m5.large."))
        t.at(queued, {"status": "RUNNING", "queueInfo": None, "startedAt": t.stamp(queued), "events": list(events)})
        events.append(
            event("DOWNLOADING_DATA", t.stamp(queued + 1.5), "Downloading the algorithm script and input data.")
        )
        t.at(queued + 1.5, {"events": list(events)})
        events.append(event("RUNNING", t.stamp(queued + 3), "Running the algorithm script."))
        t.at(queued + 3, {"events": list(events)})
        end = queued + running * (rng.uniform(0.4, 0.8) if outcome != "success" else 1.0)
        billed = {"billableDuration": int((end - queued) * scale * 1000)}
        if outcome == "success":
            events.append(event("UPLOADING_RESULTS", t.stamp(end - 1.5), "Uploading the results to S3."))
            t.at(end - 1.5, {"events": list(events)})
            events.append(event("COMPLETED", t.stamp(end), "Job completed."))
            t.at(end, {"status": "COMPLETED", "endedAt": t.stamp(end), "events": events, **billed})
        elif outcome == "failure":
            if rng.random() < 0.25:
                reason = "Job exceeded the maximum runtime of 3600 seconds (stoppingCondition.maxRuntimeInSeconds)."
                events.append(event("MAX_RUNTIME_EXCEEDED", t.stamp(end), reason))
            else:
                reason = rng.choice(FAILURES)
                events.append(event("FAILED", t.stamp(end), reason))
            t.at(
                end, {"status": "FAILED", "failureReason": reason, "endedAt": t.stamp(end), "events": events, **billed}
            )
        else:
            t.at(end, {"status": "CANCELLING"})
            events.append(event("CANCELLED", t.stamp(end + 1.5), "Job cancelled by the user."))
            t.at(end + 1.5, {"status": "CANCELLED", "endedAt": t.stamp(end + 1.5), "events": events, **billed})
        return t.steps


def _get_job(call: Call) -> Any:
    names = call.params.get("additionalAttributeNames") or []
    unknown = [n for n in names if n != "QueueInfo"]
    if unknown:
        raise SimError("validation", f"Invalid additionalAttributeNames {unknown}; valid values: [QueueInfo]")
    answer = find(call, "braket", ("jobArn",), "Job").answer(call.now)
    if "QueueInfo" in names or "queueInfo" not in answer:
        return answer
    return {k: v for k, v in answer.items() if k != "queueInfo"}  # sent only when asked for


def summary(answer: Mapping[str, Any]) -> dict[str, Any]:
    """A SearchJobs summary of a GetJob answer (the device moves up from deviceConfig)."""
    result = project(dict(answer), member_names("braket", "JobSummary"))
    device = dig(answer, "deviceConfig", "device")
    if device is not None:
        result["device"] = device
    return result


def _instant(value: Any) -> Any:
    if isinstance(value, str) and value[:4].isdigit():
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            return value
    return value


_OPERATORS = ("EQUAL", "CONTAINS", "BETWEEN", "LT", "LTE", "GT", "GTE")


def _check_filter(spec: Mapping[str, Any]) -> None:
    if spec["name"] not in member_names("braket", "JobSummary"):
        raise SimError("validation", f"Cannot filter on {spec['name']!r}", reason="FILTER_NAME_NOT_SUPPORTED")
    if spec["operator"] not in _OPERATORS:
        raise SimError("validation", f"Unsupported operator {spec['operator']!r}")
    if spec["operator"] == "BETWEEN" and len(spec["values"]) != 2:
        raise SimError("validation", "BETWEEN takes exactly two values")


def _passes(item: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    name, values, op = spec["name"], spec["values"], spec["operator"]
    value = item.get(name)
    if value is None:
        return False
    if op == "EQUAL":
        return str(value) in values
    if op == "CONTAINS":
        return any(str(v) in str(value) for v in values)
    left, rights = _instant(value), [_instant(v) for v in values]
    try:
        if op == "BETWEEN":
            return bool(rights[0] <= left <= rights[1])
        compare = {"LT": left < rights[0], "LTE": left <= rights[0], "GT": left > rights[0], "GTE": left >= rights[0]}
    except TypeError:  # a date against a word, say: no match
        return False
    return bool(compare[op])


def _search_jobs(call: Call) -> Any:
    filters = call.params["filters"]
    for spec in filters:  # checked even when there is no job to match them against
        _check_filter(spec)
    items = []
    for job in call.jobs("braket"):
        item = summary(job.answer(call.now))
        if all(_passes(item, f) for f in filters):
            items.append((job, item))
    chosen, token = page([j for j, _ in items], call.params.get("nextToken"), call.params.get("maxResults") or 100)
    by_seq = {j.seq: item for j, item in items}
    answer: dict[str, Any] = {"jobs": [by_seq[j.seq] for j in chosen]}
    if token:
        answer["nextToken"] = token
    return answer


SIM = BraketSim()
OPERATIONS: dict[str, Handler] = {"GetJob": _get_job, "SearchJobs": _search_jobs}
