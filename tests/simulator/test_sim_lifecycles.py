"""Simulated jobs live in time: scripted and seeded lifecycles, followed with real clients and checked step by step."""

from __future__ import annotations

import json
from typing import Any

import botocore.parsers
import pytest
from botocore.validate import ParamValidator
from simsupport import READ_CALL, changes, read, status_of, wait_until

from watcher.model import SERVICES
from watcher.simulator import SimulatorThread
from watcher.simulator.jobs import SimJob
from watcher.simulator.models import operation
from watcher.simulator.seed import seed_jobs
from watcher.simulator.services import SIMS
from watcher.simulator.state import SimState

TERMINAL = {
    "devicefarm": {"COMPLETED"},
    "deadline": {"SUCCEEDED", "FAILED", "CANCELED", "SUSPENDED", "NOT_COMPATIBLE", "CREATE_FAILED", "ARCHIVED"},
    "amplify": {"SUCCEED", "FAILED", "CANCELLED"},
    "iot": {"COMPLETED", "CANCELED", "DELETION_IN_PROGRESS"},
    "braket": {"COMPLETED", "FAILED", "CANCELLED"},
}
GAP = 0.15  # seconds between scripted steps: many polls per state


def steps(*fields: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"at": round(i * GAP, 3), "fields": f} for i, f in enumerate(fields)]


def df(**job: Any) -> dict[str, Any]:
    return {"job": job}


SCRIPTS: dict[str, tuple[list[dict[str, Any]], list[str]]] = {
    "devicefarm": (
        steps(
            df(status="PENDING"),
            df(status="PROCESSING"),
            df(status="RUNNING", counters={"total": 10, "passed": 2}),
            df(counters={"passed": 6, "failed": 1}),
            df(
                status="COMPLETED",
                result="FAILED",
                counters={"passed": 8, "failed": 2},
                message="2 of 10 tests failed.",
            ),
        ),
        ["PENDING", "PROCESSING", "RUNNING", "COMPLETED"],
    ),
    "deadline": (
        steps(
            {"taskRunStatus": "READY", "taskRunStatusCounts": {"READY": 4}},
            {"taskRunStatus": "RUNNING", "taskRunStatusCounts": {"READY": 2, "RUNNING": 2}},
            {"taskRunStatusCounts": {"READY": 0, "RUNNING": 1, "SUCCEEDED": 2, "FAILED": 1}},
            {
                "taskRunStatus": "FAILED",
                "taskRunStatusCounts": {"RUNNING": 0, "SUCCEEDED": 3},
                "taskFailureRetryCount": 5,
            },
        ),
        ["READY", "RUNNING", "FAILED"],
    ),
    "amplify": (
        steps(
            df(summary={"status": "PROVISIONING"}),
            df(summary={"status": "RUNNING"}, steps=[{"stepName": "BUILD", "status": "RUNNING"}]),
            df(steps=[{"stepName": "BUILD", "status": "SUCCEED"}, {"stepName": "DEPLOY", "status": "RUNNING"}]),
            df(
                summary={"status": "SUCCEED"},
                steps=[{"stepName": "BUILD", "status": "SUCCEED"}, {"stepName": "DEPLOY", "status": "SUCCEED"}],
            ),
        ),
        ["PROVISIONING", "RUNNING", "SUCCEED"],
    ),
    "iot": (
        steps(
            df(status="IN_PROGRESS", jobProcessDetails={"numberOfQueuedThings": 10}),
            df(jobProcessDetails={"numberOfQueuedThings": 4, "numberOfSucceededThings": 6}),
            df(status="COMPLETED", jobProcessDetails={"numberOfQueuedThings": 0, "numberOfSucceededThings": 10}),
        ),
        ["IN_PROGRESS", "COMPLETED"],
    ),
    "braket": (
        steps(
            {"queueInfo": {"queue": "JOBS_QUEUE", "position": "2"}},
            {"queueInfo": {"position": "1"}},
            {"status": "RUNNING", "queueInfo": None, "events": [{"eventType": "RUNNING", "message": "Running."}]},
            {"status": "CANCELLING"},
            {"status": "CANCELLED", "events": [{"eventType": "RUNNING"}, {"eventType": "CANCELLED"}]},
        ),
        ["QUEUED", "RUNNING", "CANCELLING", "CANCELLED"],
    ),
}


def is_subsequence(seen: list[str], expected: list[str]) -> bool:
    remaining = iter(expected)
    return all(any(s == e for e in remaining) for s in seen)


@pytest.mark.anyio
@pytest.mark.parametrize("service", SERVICES)
async def test_a_scripted_job_is_followed_through_its_whole_lifecycle(
    service: str, sim: SimulatorThread, clients: Any
) -> None:
    script, expected = SCRIPTS[service]
    client = await clients(service)  # first: making a client can take longer than the whole script
    job = sim.control.add_job(service, f"lifecycle-{service}", script=script)

    answers = await wait_until(
        lambda: read(client, service, job["params"]), lambda a: status_of(service, a) in TERMINAL[service]
    )

    seen = changes([status_of(service, a) for a in answers])
    assert seen[-1] == expected[-1]
    assert is_subsequence(seen, expected) and len(seen) >= 2, seen
    assert sim.control.jobs()[0]["status"] == expected[-1]
    final = answers[-1]
    if service == "devicefarm":
        assert final["job"]["result"] == "FAILED" and final["job"]["counters"]["failed"] == 2
    if service == "braket":
        assert "queueInfo" not in final and [e["eventType"] for e in final["events"]] == ["RUNNING", "CANCELLED"]
        positions = [a["queueInfo"]["position"] for a in answers if "queueInfo" in a]
        assert positions == sorted(positions, reverse=True)  # the queue only drains


def test_seeded_jobs_run_from_queued_to_an_end_in_about_a_minute() -> None:
    """The default time scale fits every lifecycle (but never-ending IoT ones) in about a minute."""
    state = SimState(seed=0)
    jobs = seed_jobs(state, 200, seed=0)
    ends = [j.finished_at() for j in jobs]
    assert 40 <= max(ends) <= 75
    start = {j.service: set() for j in jobs}  # type: dict[str, set[str | None]]
    for job in jobs:
        start[job.service].add(SIMS[job.service].status(job.answer(job.created)))
    assert start == {
        "devicefarm": {"PENDING"},
        "deadline": {"PENDING"},
        "amplify": {"PENDING"},
        "iot": {"SCHEDULED", "IN_PROGRESS"},
        "braket": {"QUEUED"},
    }


def final_answer(job: SimJob) -> dict[str, Any]:
    return job.answer(job.created + job.finished_at() + 1)


def test_seeded_lifecycles_end_in_success_failure_or_cancellation_and_iot_may_never_end() -> None:
    state = SimState(seed=3)
    jobs = seed_jobs(state, 250, seed=3)
    outcomes: dict[str, set[str | None]] = {s: set() for s in SERVICES}
    continuous = 0
    for job in jobs:
        answer = final_answer(job)
        status = SIMS[job.service].status(answer)
        if job.service == "iot" and answer["job"]["targetSelection"] == "CONTINUOUS":
            continuous += 1
            assert status == "IN_PROGRESS" and "completedAt" not in answer["job"]
            continue
        assert status in TERMINAL[job.service], (job.service, status)
        outcomes[job.service].add(status)
    assert continuous > 0
    assert outcomes["devicefarm"] == {"COMPLETED"}
    assert {"SUCCEEDED", "FAILED", "CANCELED", "CREATE_FAILED"} <= outcomes["deadline"]
    assert outcomes["amplify"] == {"SUCCEED", "FAILED", "CANCELLED"}
    assert outcomes["iot"] == {"COMPLETED", "CANCELED"}
    assert outcomes["braket"] == {"COMPLETED", "FAILED", "CANCELLED"}
    results = {final_answer(j)["job"]["result"] for j in jobs if j.service == "devicefarm"}
    assert {"PASSED", "FAILED", "ERRORED", "STOPPED"} <= results
    failures = [final_answer(j) for j in jobs if j.service == "braket"]
    assert all(a["failureReason"] for a in failures if a["status"] == "FAILED")


def progress(job: SimJob, answer: dict[str, Any]) -> tuple[int, ...]:
    """A service's progress measure, which a lifecycle must never move backwards."""
    if job.service == "devicefarm":
        counters = answer["job"]["counters"]
        return (sum(v for k, v in counters.items() if k != "total"),)
    if job.service == "deadline":
        counts = answer.get("taskRunStatusCounts", {})
        return (counts.get("SUCCEEDED", 0) + counts.get("FAILED", 0) + counts.get("CANCELED", 0),)
    if job.service == "amplify":
        return (len(answer["job"]["steps"]),)
    if job.service == "iot":
        details = answer["job"]["jobProcessDetails"]
        return (
            details["numberOfSucceededThings"] + details["numberOfFailedThings"] + details["numberOfTimedOutThings"],
        )
    position = answer.get("queueInfo", {}).get("position")
    return (len(answer["events"]), -int(position) if position else 0)


def test_every_step_of_every_seeded_lifecycle_parses_into_the_output_shape_and_progress_only_grows() -> None:
    """Each intermediate answer, as wire bytes through botocore's own parser, fits the output shape."""
    state = SimState(seed=7)
    jobs = seed_jobs(state, 100, seed=7)
    validator = ParamValidator()
    for job in jobs:
        name = "DescribeJob" if job.service == "iot" else "GetJob"
        op = operation(job.service, name)
        parser = botocore.parsers.create_parser(op.service_model.protocol)
        last: tuple[int, ...] | None = None
        for step in (None, *job.steps):
            answer = job.answer(job.created + (step.at if step else 0.0))
            parsed = parser.parse(
                {"status_code": 200, "headers": {}, "body": json.dumps(answer).encode()}, op.output_shape
            )
            parsed.pop("ResponseMetadata", None)
            report = validator.validate(parsed, op.output_shape)
            assert not report.has_errors(), (job.service, job.name, report.generate_report())
            measure = progress(job, answer)
            assert last is None or measure >= last, (job.service, job.name, last, measure)
            last = measure


def test_the_same_seed_gives_the_same_jobs_and_lifecycles() -> None:
    def seeded(seed: int, scale: float = 1.0) -> list[tuple[Any, ...]]:
        state = SimState(seed=seed, clock=lambda: 100.0, wall=lambda: 1_700_000_000.0)
        jobs = seed_jobs(state, 30, seed=seed, time_scale=scale)
        return [(j.service, j.name, j.params, json.dumps([(s.at, s.fields) for s in j.steps])) for j in jobs]

    assert seeded(1) == seeded(1)
    assert seeded(1) != seeded(2)
    one, two = seeded(1), seeded(1, scale=2.0)
    offsets = [json.loads(j[3])[-1][0] for j in one]
    stretched = [json.loads(j[3])[-1][0] for j in two]
    assert stretched == pytest.approx([2 * o for o in offsets], abs=0.002)


def test_an_empty_script_gives_a_queued_job_of_its_service() -> None:
    state = SimState()
    for service in SERVICES:
        job = state.add_job(service, f"empty-{service}")
        assert job.steps == ()
        assert state.entry(job)["status"] in {"PENDING", "SCHEDULED", "QUEUED"}
        assert READ_CALL[service]  # every service has a read call to follow it with
