"""Every status value botocore's model lists, for each service's status fields, can be scripted and parses."""

from __future__ import annotations

from typing import Any

import pytest
from simsupport import read

from watcher.model import SERVICES
from watcher.simulator import SimulatorThread
from watcher.simulator.models import service_model

pytestmark = pytest.mark.anyio

# Each status field: the enum shape that lists its values, how a script sets it, and how to read it back.
FIELDS: dict[str, list[tuple[str, Any, Any]]] = {
    "devicefarm": [
        ("ExecutionStatus", lambda v: {"job": {"status": v}}, lambda a: a["job"]["status"]),
        ("ExecutionResult", lambda v: {"job": {"result": v}}, lambda a: a["job"]["result"]),
    ],
    "deadline": [
        ("TaskRunStatus", lambda v: {"taskRunStatus": v}, lambda a: a["taskRunStatus"]),
        ("JobLifecycleStatus", lambda v: {"lifecycleStatus": v}, lambda a: a["lifecycleStatus"]),
        ("JobTargetTaskRunStatus", lambda v: {"targetTaskRunStatus": v}, lambda a: a["targetTaskRunStatus"]),
    ],
    "amplify": [
        (
            "JobStatus",
            lambda v: {
                "job": {
                    "summary": {"status": v},
                    "steps": [{"stepName": "BUILD", "status": v, "startTime": 1700000000, "endTime": 1700000060}],
                }
            },
            lambda a: (a["job"]["summary"]["status"], a["job"]["steps"][0]["status"]),
        ),
    ],
    "iot": [
        ("JobStatus", lambda v: {"job": {"status": v}}, lambda a: a["job"]["status"]),
        ("TargetSelection", lambda v: {"job": {"targetSelection": v}}, lambda a: a["job"]["targetSelection"]),
    ],
    "braket": [
        ("JobPrimaryStatus", lambda v: {"status": v}, lambda a: a["status"]),
        (
            "JobEventType",
            lambda v: {"events": [{"eventType": v, "timeOfEvent": "2024-05-01T10:00:00.000Z"}]},
            lambda a: a["events"][0]["eventType"],
        ),
    ],
}


def enum(service: str, shape: str) -> list[str]:
    values = service_model(service).shape_for(shape).enum
    assert values, f"{service} {shape} lists no values"
    return list(values)


@pytest.mark.parametrize("service", SERVICES)
async def test_every_modelled_status_value_can_be_scripted_and_parses(
    service: str, sim: SimulatorThread, clients: Any
) -> None:
    client = await clients(service)
    checked = 0
    for shape, fields, read_back in FIELDS[service]:
        # A value the model does not list yet (services add statuses) must pass through as well.
        for number, value in enumerate([*enum(service, shape), "SOME_FUTURE_STATUS"]):
            name = f"{shape.lower()}-{number}"
            job = sim.control.add_job(service, name, script=[{"at": 0, "fields": fields(value)}])
            answer = await read(client, service, job["params"])
            got = read_back(answer)
            assert got == ((value, value) if isinstance(got, tuple) else value)
            checked += 1
    assert checked > len(FIELDS[service])
    statuses = {e["name"]: e["status"] for e in sim.control.jobs()}
    primary = FIELDS[service][0][0]
    for number, value in enumerate(enum(service, primary)):
        assert statuses[f"{primary.lower()}-{number}"] == value  # the control API reads the same status


async def test_any_field_and_value_is_accepted_and_null_removes_a_field(sim: SimulatorThread, clients: Any) -> None:
    job = sim.control.add_job(
        "braket",
        "odd-values",
        script=[
            {
                "at": 0,
                "fields": {
                    "status": "RUNNING",
                    "failureReason": "<script>alert(1)</script> & more",
                    "tags": {"team": "quantum"},
                    "queueInfo": None,
                },
            },
        ],
    )
    client = await clients("braket")
    answer = await read(client, "braket", job["params"])
    assert answer["status"] == "RUNNING"
    assert answer["failureReason"] == "<script>alert(1)</script> & more"
    assert answer["tags"] == {"team": "quantum"}
    assert "queueInfo" not in answer
