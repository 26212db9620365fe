"""The control API's contracts (/_sim/): jobs, faults, stats, reset; and `serve` as a command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from typing import Any

import pytest
from simsupport import read

from watcher.simulator import SimulatorThread
from watcher.simulator.control import SimControl, SimControlError


def test_added_jobs_are_listed_with_the_params_of_their_read_call(sim: SimulatorThread) -> None:
    added = sim.control.add_job("braket", "vqe-h2", script=[{"at": 0, "fields": {"status": "RUNNING"}}])
    assert added == {
        "service": "braket",
        "name": "vqe-h2",
        "status": "RUNNING",
        "params": {"jobArn": "arn:aws:braket:us-east-1:123456789012:job/vqe-h2"},
    }
    sim.control.add_job("iot", "ota-1")
    assert sim.control.jobs() == [
        {"service": "iot", "name": "ota-1", "status": "SCHEDULED", "params": {"jobId": "ota-1"}},
        added,
    ]


def test_names_are_unique_per_service_and_checked_per_service(sim: SimulatorThread) -> None:
    sim.control.add_job("iot", "same-name")
    sim.control.add_job("braket", "same-name")  # another service: fine
    with pytest.raises(SimControlError) as conflict:
        sim.control.add_job("iot", "same-name")
    assert conflict.value.status == 409
    for service, name in [("iot", "has spaces"), ("braket", "-leading-dash"), ("braket", "x" * 51)]:
        with pytest.raises(SimControlError) as bad:
            sim.control.add_job(service, name)
        assert bad.value.status == 400 and "names" in str(bad.value)


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"service": "sqs"}, "service must be one of"),
        ({"service": "iot", "script": {"at": 0}}, "script must be a list"),
        ({"service": "iot", "script": [{"at": -1, "fields": {}}]}, "script[0].at"),
        ({"service": "iot", "script": [{"at": "soon", "fields": {}}]}, "script[0].at"),
        ({"service": "iot", "script": [{"at": 0, "fields": ["status"]}]}, "script[0].fields"),
        ({"service": "iot", "params": {"jobId": "x"}}, "cannot set jobId"),
        ({"service": "deadline", "params": {"farmId": "farm-1"}}, "farm-<32 hex digits>"),
        ({"service": "amplify", "params": {"appId": "Bad"}}, "appId"),
        ({"service": "devicefarm", "params": {"runArn": "arn:aws:devicefarm:us-west-2:1:run:x"}}, "runArn"),
        ({"service": "iot", "name": 7}, "name must be a string"),
    ],
)
def test_a_bad_job_is_refused_with_a_reason(sim: SimulatorThread, payload: dict[str, Any], problem: str) -> None:
    request = urllib.request.Request(f"{sim.url}/_sim/jobs", data=json.dumps(payload).encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    assert problem in json.loads(refused.value.read())["error"]
    assert sim.control.jobs() == []


def test_params_choose_the_group_of_a_job(sim: SimulatorThread) -> None:
    farm, queue = "farm-" + "a" * 32, "queue-" + "b" * 32
    job = sim.control.add_job("deadline", "in my queue", params={"farmId": farm, "queueId": queue})
    assert job["params"]["farmId"] == farm and job["params"]["queueId"] == queue
    assert job["params"]["jobId"].startswith("job-") and len(job["params"]["jobId"]) == 36
    run = (
        "arn:aws:devicefarm:us-west-2:123456789012:run:11111111-2222-4333-8444-555555555555/"
        "66666666-7777-4888-9999-000000000000"
    )
    first = sim.control.add_job("devicefarm", "a", params={"runArn": run})
    second = sim.control.add_job("devicefarm", "b", params={"runArn": run})
    assert first["params"]["arn"] == run.replace(":run:", ":job:") + "/00000"
    assert second["params"]["arn"].endswith("/00001") and len(second["params"]["arn"]) >= 32
    unnamed = sim.control.add_job("amplify")
    assert unnamed["name"] and unnamed["params"]["jobId"] == "1"


def test_vanish_removes_a_job_once(sim: SimulatorThread) -> None:
    sim.control.add_job("amplify", "feature/login build #3")  # "/" and "#" in a name survive the URL
    sim.control.vanish("amplify", "feature/login build #3")
    assert sim.control.jobs() == []
    with pytest.raises(SimControlError) as missing:
        sim.control.vanish("amplify", "feature/login build #3")
    assert missing.value.status == 404


def test_faults_are_validated_and_replaced_whole(sim: SimulatorThread) -> None:
    now = sim.control.faults(throttle_rate=0.25, latency_ms=10, services=["iot", "braket"])
    assert now == {"throttle_rate": 0.25, "error_rate": 0.0, "latency_ms": 10.0, "services": ["braket", "iot"]}
    assert sim.control.faults(error_rate=0.5)["throttle_rate"] == 0.0
    for bad in (
        {"throttle_rate": 2},
        {"error_rate": "often"},
        {"latency_ms": -5},
        {"services": ["sqs"]},
        {"vanish_rate": 0.1},
    ):
        with pytest.raises(SimControlError) as refused:
            sim.control.faults(**bad)
        assert refused.value.status == 400
    assert sim.control.faults() == {"throttle_rate": 0.0, "error_rate": 0.0, "latency_ms": 0.0, "services": None}


@pytest.mark.anyio
async def test_stats_count_requests_throttles_and_errors_per_operation(sim: SimulatorThread, clients: Any) -> None:
    iot = await clients("iot")
    sim.control.add_job("iot", "counted")
    for _ in range(5):
        await iot.describe_job(jobId="counted")
    await iot.list_jobs()
    with pytest.raises(iot.exceptions.ResourceNotFoundException):
        await iot.describe_job(jobId="absent")
    sim.control.faults(throttle_rate=1.0)
    with pytest.raises(iot.exceptions.ThrottlingException):
        await iot.describe_job(jobId="counted")
    sim.control.faults(error_rate=1.0)
    with pytest.raises(iot.exceptions.ClientError):
        await iot.list_jobs()

    stats = sim.control.stats()
    assert stats["operations"] == {
        "iot:DescribeJob": {"requests": 7, "throttles": 1, "errors": 0, "client_errors": 1},
        "iot:ListJobs": {"requests": 2, "throttles": 0, "errors": 1, "client_errors": 0},
    }
    assert stats["totals"] == {"requests": 9, "throttles": 1, "errors": 1, "client_errors": 1}
    assert 1 <= stats["peak_rps"]["iot"] <= 9

    sim.control.reset()
    cleared = sim.control.stats()
    assert cleared["operations"] == {} and cleared["peak_rps"] == {}
    # The error rate was 1.0: this answer shows the reset turned the faults off.
    assert (await iot.describe_job(jobId="counted"))["job"]["jobId"] == "counted"
    sim.control.reset(jobs=True)
    assert sim.control.jobs() == []


@pytest.mark.anyio
async def test_peak_rps_is_the_busiest_one_second_window(sim: SimulatorThread, clients: Any) -> None:
    braket = await clients("braket")
    job = sim.control.add_job("braket", "busy")
    for _ in range(30):
        await read(braket, "braket", job["params"])
    peak = sim.control.stats()["peak_rps"]["braket"]
    assert 1 <= peak <= 30
    assert sim.control.stats()["operations"]["braket:GetJob"]["requests"] == 30


def test_the_seeded_simulator_in_a_thread_has_its_jobs() -> None:
    with SimulatorThread(jobs=12, seed=4) as running:
        entries = SimControl(running.url).jobs()
    assert len(entries) == 12
    assert {e["service"] for e in entries} == {"devicefarm", "deadline", "amplify", "iot", "braket"}


def test_serve_prints_where_it_listens_and_stops_on_sigterm(tmp_path: Any) -> None:
    code = "from watcher.simulator import serve; serve(port=0, jobs=5, seed=2)"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # serving once the banner is out
            lines.append(line)
            if "stop with Ctrl-C" in line:
                break
        url = next(w for line in lines for w in line.split() if w.startswith("http://127.0.0.1:"))
        assert len(SimControl(url).jobs()) == 5
        assert any("aws braket get-job --endpoint-url" in line for line in lines)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
