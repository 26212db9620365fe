"""Every simulated operation answers a stock aiobotocore client, in the shape of botocore's model."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from aiobotocore.session import get_session
from simsupport import assert_shape, client_config, read, region

from watcher.model import SERVICES
from watcher.simulator import SimulatorThread, start_simulator
from watcher.simulator.services.devicefarm import run_of

pytestmark = pytest.mark.anyio


def recent(moment: datetime) -> bool:
    """A timezone-aware timestamp within a minute of now (proves the wire format was read right)."""
    return moment.tzinfo is not None and abs(datetime.now(UTC) - moment) < timedelta(minutes=1)


async def test_devicefarm_get_job_and_list_jobs_of_its_run(sim: SimulatorThread, clients: Any) -> None:
    job = sim.control.add_job("devicefarm", "smoke on Pixel")
    other = sim.control.add_job(
        "devicefarm",
        "elsewhere",
        params={
            "runArn": "arn:aws:devicefarm:us-west-2:123456789012:run:11111111-2222-4333-8444-555555555555/"
            "66666666-7777-4888-9999-000000000000"
        },
    )
    client = await clients("devicefarm")

    answer = await client.get_job(**job["params"])
    assert_shape("devicefarm", "GetJob", answer)
    assert answer["job"]["arn"] == job["params"]["arn"]
    assert answer["job"]["name"] == "smoke on Pixel"
    assert answer["job"]["status"] == "PENDING"
    assert recent(answer["job"]["created"])

    listed = await client.list_jobs(arn=run_of(job["params"]["arn"]))
    assert_shape("devicefarm", "ListJobs", listed)
    assert [j["arn"] for j in listed["jobs"]] == [job["params"]["arn"]]
    other_run = await client.list_jobs(arn=run_of(other["params"]["arn"]))
    assert [j["name"] for j in other_run["jobs"]] == ["elsewhere"]


async def test_deadline_get_list_and_search_jobs(sim: SimulatorThread, clients: Any) -> None:
    job = sim.control.add_job("deadline", "shot 10 comp", script=[{"at": 0, "fields": {"taskRunStatus": "RUNNING"}}])
    sim.control.add_job("deadline", "shot 20 lighting")
    client = await clients("deadline")
    farm, queue = job["params"]["farmId"], job["params"]["queueId"]
    assert farm.startswith("farm-") and len(farm) == 37 and queue.startswith("queue-") and len(queue) == 38

    answer = await client.get_job(**job["params"])
    assert_shape("deadline", "GetJob", answer)
    assert (answer["jobId"], answer["name"], answer["taskRunStatus"]) == (
        job["params"]["jobId"],
        "shot 10 comp",
        "RUNNING",
    )
    assert answer["lifecycleStatus"] == "CREATE_COMPLETE"
    assert recent(answer["createdAt"])

    listed = await client.list_jobs(farmId=farm, queueId=queue)
    assert_shape("deadline", "ListJobs", listed)
    assert sorted(j["name"] for j in listed["jobs"]) == ["shot 10 comp", "shot 20 lighting"]
    assert "parameters" not in listed["jobs"][0]  # a summary, not the whole job

    found = await client.search_jobs(
        farmId=farm,
        queueIds=[queue],
        itemOffset=0,
        filterExpressions={
            "operator": "AND",
            "filters": [{"stringFilter": {"name": "TASK_RUN_STATUS", "operator": "EQUAL", "value": "RUNNING"}}],
        },
    )
    assert_shape("deadline", "SearchJobs", found)
    assert [j["jobId"] for j in found["jobs"]] == [job["params"]["jobId"]]
    assert found["totalResults"] == 1 and found["jobs"][0]["queueId"] == queue
    by_term = await client.search_jobs(
        farmId=farm,
        queueIds=[queue],
        itemOffset=0,
        filterExpressions={"operator": "OR", "filters": [{"searchTermFilter": {"searchTerm": "LIGHTING"}}]},
    )
    assert [j["name"] for j in by_term["jobs"]] == ["shot 20 lighting"]


async def test_amplify_get_job_and_list_jobs_newest_first(sim: SimulatorThread, clients: Any) -> None:
    first = sim.control.add_job("amplify", "Fix the footer")
    second = sim.control.add_job("amplify", "Add pricing page")
    assert (first["params"]["jobId"], second["params"]["jobId"]) == ("1", "2")
    assert first["params"]["appId"].startswith("d") and first["params"]["branchName"] == "main"
    client = await clients("amplify")

    answer = await client.get_job(**first["params"])
    assert_shape("amplify", "GetJob", answer)
    assert answer["job"]["summary"]["status"] == "PENDING" and answer["job"]["steps"] == []
    assert answer["job"]["summary"]["commitMessage"] == "Fix the footer"
    assert recent(answer["job"]["summary"]["startTime"])

    listed = await client.list_jobs(appId=first["params"]["appId"], branchName="main")
    assert_shape("amplify", "ListJobs", listed)
    assert [s["jobId"] for s in listed["jobSummaries"]] == ["2", "1"]


async def test_amplify_branch_names_with_a_slash_are_one_path_label(sim: SimulatorThread, clients: Any) -> None:
    job = sim.control.add_job("amplify", "feature work", params={"appId": "dabc123", "branchName": "feature/login"})
    client = await clients("amplify")
    answer = await client.get_job(**job["params"])
    assert answer["job"]["summary"]["jobArn"].endswith("/branches/feature/login/jobs/0000000001")
    listed = await client.list_jobs(appId="dabc123", branchName="feature/login")
    assert len(listed["jobSummaries"]) == 1


async def test_iot_describe_job_and_list_jobs_with_filters(sim: SimulatorThread, clients: Any) -> None:
    sim.control.add_job("iot", "ota-2-4-1", script=[{"at": 0, "fields": {"job": {"status": "IN_PROGRESS"}}}])
    sim.control.add_job("iot", "cert-rotation")
    client = await clients("iot")

    answer = await client.describe_job(jobId="ota-2-4-1")
    assert_shape("iot", "DescribeJob", answer)
    assert answer["job"]["jobId"] == "ota-2-4-1"
    assert answer["job"]["jobArn"] == "arn:aws:iot:us-east-1:123456789012:job/ota-2-4-1"
    assert recent(answer["job"]["createdAt"])

    listed = await client.list_jobs()
    assert_shape("iot", "ListJobs", listed)
    assert sorted(j["jobId"] for j in listed["jobs"]) == ["cert-rotation", "ota-2-4-1"]
    running = await client.list_jobs(status="IN_PROGRESS")
    assert [j["jobId"] for j in running["jobs"]] == ["ota-2-4-1"]
    by_group = await client.list_jobs(thingGroupName="fleet-eu-west")
    assert len(by_group["jobs"]) == 2
    assert (await client.list_jobs(thingGroupName="nobody"))["jobs"] == []


async def test_braket_get_job_with_queue_info_and_search_jobs(sim: SimulatorThread, clients: Any) -> None:
    job = sim.control.add_job("braket", "qaoa-maxcut-12q")
    sim.control.add_job("braket", "vqe-h2", script=[{"at": 0, "fields": {"status": "RUNNING", "queueInfo": None}}])
    client = await clients("braket")
    arn = job["params"]["jobArn"]
    assert arn == "arn:aws:braket:us-east-1:123456789012:job/qaoa-maxcut-12q"

    answer = await client.get_job(jobArn=arn, additionalAttributeNames=["QueueInfo"])
    assert_shape("braket", "GetJob", answer)
    assert answer["status"] == "QUEUED" and answer["queueInfo"]["queue"] == "JOBS_QUEUE"
    assert recent(answer["createdAt"])
    plain = await client.get_job(jobArn=arn)
    assert "queueInfo" not in plain  # only sent when asked for

    found = await client.search_jobs(filters=[])
    assert_shape("braket", "SearchJobs", found)
    assert sorted(j["jobName"] for j in found["jobs"]) == ["qaoa-maxcut-12q", "vqe-h2"]
    assert found["jobs"][0]["device"].startswith("arn:aws:braket:::device/")
    running = await client.search_jobs(filters=[{"name": "status", "values": ["RUNNING"], "operator": "EQUAL"}])
    assert [j["jobName"] for j in running["jobs"]] == ["vqe-h2"]


async def test_seeded_jobs_answer_in_their_models_shape(aws_env: None) -> None:
    """Every seeded job of every service, when created and once its script has run out, fits the output shape."""
    async with start_simulator(jobs=40, seed=11, time_scale=0.02) as running, AsyncExitStack() as stack:
        session = get_session()
        clients = {
            service: await stack.enter_async_context(
                session.create_client(
                    service, region_name=region(service), endpoint_url=running.url, config=client_config()
                )
            )
            for service in SERVICES
        }
        state = running.state
        for _ in ("created", "finished"):
            for entry in state.entries():
                service = entry["service"]
                answer = await read(clients[service], service, entry["params"])
                assert_shape(service, "DescribeJob" if service == "iot" else "GetJob", answer)
            # Then once every script has run out: its last step is due at a known monotonic instant.
            last_step = max(j.created + j.finished_at() for s in SERVICES for j in state.listing(s))
            await anyio.sleep(max(0.0, last_step - state.clock()) + 0.01)


async def test_start_simulator_serves_inside_a_running_loop(aws_env: None) -> None:
    async with start_simulator(jobs=5, seed=1) as running:
        assert running.url.startswith("http://127.0.0.1:")
        iot = next(e for e in running.state.entries() if e["service"] == "iot")
        async with get_session().create_client(
            "iot", region_name="us-east-1", endpoint_url=running.url, config=client_config()
        ) as client:
            answer = await client.describe_job(**iot["params"])
        assert answer["job"]["jobId"] == iot["name"]


async def test_the_standard_endpoint_variable_reaches_the_simulator(
    sim: SimulatorThread, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", sim.url)
    sim.control.add_job("iot", "via-env")
    async with get_session().create_client("iot", region_name="us-east-1", config=client_config()) as client:
        assert (await client.describe_job(jobId="via-env"))["job"]["jobId"] == "via-env"
