"""Errors come back as each service sends them: not found, throttling, 5xx and validation, per botocore's models."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import anyio
import pytest
from botocore.exceptions import ClientError
from simsupport import error_code, http_status, read

from watcher.model import SERVICES
from watcher.simulator import SimulatorThread
from watcher.simulator.errors import ERROR_CODES
from watcher.simulator.models import SIMULATED, operation, service_model

pytestmark = pytest.mark.anyio

MISSING = {  # well-formed identities that name no job
    "devicefarm": {
        "arn": "arn:aws:devicefarm:us-west-2:123456789012:job:00000000-0000-4000-8000-000000000000/"
        "00000000-0000-4000-8000-000000000001/00000"
    },
    "deadline": {"farmId": "farm-" + "0" * 32, "queueId": "queue-" + "0" * 32, "jobId": "job-" + "0" * 32},
    "amplify": {"appId": "dnothere", "branchName": "main", "jobId": "999"},
    "iot": {"jobId": "no-such-job"},
    "braket": {"jobArn": "arn:aws:braket:us-east-1:123456789012:job/no-such-job"},
}
NOT_FOUND = {s: ERROR_CODES[s]["not_found"] for s in SERVICES}
THROTTLED = {s: ERROR_CODES[s]["throttle"] for s in SERVICES}


def modelled_errors(service: str) -> dict[str, int | None]:
    """Every error the service's model lists for any operation, with its modelled HTTP status."""
    model = service_model(service)
    found: dict[str, int | None] = {}
    for name in model.operation_names:
        for shape in model.operation_model(name).error_shapes:
            found[shape.name] = (shape.metadata.get("error") or {}).get("httpStatusCode")
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_error_codes_and_statuses_are_the_ones_the_model_lists(service: str) -> None:
    listed = modelled_errors(service)
    for kind, (code, status) in ERROR_CODES[service].items():
        if kind == "unknown_operation":
            continue  # the protocol's, not the service's
        assert code in listed, f"{service} {kind}: {code} is not in its model"
        assert listed[code] in (None, status), f"{service} {code}: model says {listed[code]}, we send {status}"
    reads = [operation(service, name) for name in SIMULATED[service] if name in ("GetJob", "DescribeJob")]
    for op in reads:
        names = {e.name for e in op.error_shapes}
        assert ERROR_CODES[service]["not_found"][0] in names
        if service != "devicefarm":  # Device Farm's GetJob models no 5xx; InternalServiceException is its one
            assert ERROR_CODES[service]["server"][0] in names


@pytest.mark.parametrize("service", SERVICES)
async def test_an_unknown_job_is_the_services_not_found_error(service: str, clients: Any) -> None:
    client = await clients(service)
    with pytest.raises(ClientError) as caught:
        await read(client, service, MISSING[service])
    assert (error_code(caught.value), http_status(caught.value)) == NOT_FOUND[service]


async def test_a_vanished_job_is_not_found_afterwards(sim: SimulatorThread, clients: Any) -> None:
    client = await clients("deadline")
    job = sim.control.add_job("deadline", "soon gone")
    assert (await client.get_job(**job["params"]))["name"] == "soon gone"
    sim.control.vanish("deadline", "soon gone")
    with pytest.raises(client.exceptions.ResourceNotFoundException) as caught:
        await client.get_job(**job["params"])
    assert caught.value.response["resourceId"] == "/".join(job["params"].values())
    assert sim.control.jobs() == []


@pytest.mark.parametrize("service", SERVICES)
async def test_throttling_is_the_services_throttle_error(service: str, sim: SimulatorThread, clients: Any) -> None:
    job = sim.control.add_job(service, "throttled-job")
    client = await clients(service, attempts=1)
    sim.control.faults(throttle_rate=1.0)
    with pytest.raises(ClientError) as caught:
        await read(client, service, job["params"])
    assert (error_code(caught.value), http_status(caught.value)) == THROTTLED[service]
    sim.control.faults()
    assert (await read(client, service, job["params"]))["ResponseMetadata"]["HTTPStatusCode"] == 200


async def test_standard_retries_ride_through_throttles_of_device_farm(sim: SimulatorThread, clients: Any) -> None:
    """Device Farm's 400 LimitExceededException is retried in standard mode (DESIGN.md, facts measured)."""
    job = sim.control.add_job("devicefarm", "retried")
    client = await clients("devicefarm", attempts=10)
    sim.control.faults(throttle_rate=0.1)  # low: each retry waits a jittered backoff of up to seconds
    calls = 0
    while sim.control.stats()["totals"]["throttles"] == 0 and calls < 200:
        assert (await client.get_job(**job["params"]))["job"]["name"] == "retried"
        calls += 1
    row = sim.control.stats()["operations"]["devicefarm:GetJob"]
    assert row["throttles"] > 0 and row["requests"] == row["throttles"] + calls


@pytest.mark.parametrize("service", SERVICES)
async def test_server_errors_are_the_services_5xx_or_a_bare_503(
    service: str, sim: SimulatorThread, clients: Any
) -> None:
    job = sim.control.add_job(service, "unlucky")
    client = await clients(service, attempts=1)
    sim.control.faults(error_rate=1.0, services=[service])
    codes = set()
    for _ in range(24):
        with pytest.raises(ClientError) as caught:
            await read(client, service, job["params"])
        codes.add((error_code(caught.value), http_status(caught.value)))
    server_code, server_status = ERROR_CODES[service]["server"]
    assert codes == {(server_code, server_status), ("503", 503)}


async def test_faults_touch_only_the_services_named(sim: SimulatorThread, clients: Any) -> None:
    iot, braket = await clients("iot"), await clients("braket")
    sim.control.add_job("iot", "fleet-update")
    job = sim.control.add_job("braket", "fine")
    sim.control.faults(throttle_rate=1.0, services=["iot"])
    with pytest.raises(iot.exceptions.ThrottlingException):
        await iot.describe_job(jobId="fleet-update")
    assert (await braket.get_job(**job["params"]))["jobName"] == "fine"


async def test_latency_delays_answers(sim: SimulatorThread, clients: Any) -> None:
    client = await clients("iot")
    sim.control.add_job("iot", "slow")
    sim.control.faults(latency_ms=300)
    started = anyio.current_time()
    await client.describe_job(jobId="slow")
    assert anyio.current_time() - started >= 0.3


@pytest.mark.parametrize(
    ("service", "call", "params", "code"),
    [
        ("devicefarm", "get_job", {"arn": "arn:aws:devicefarm:short"}, "ArgumentException"),
        ("devicefarm", "get_job", {}, "ArgumentException"),
        ("devicefarm", "list_jobs", {"arn": 12345}, "ArgumentException"),
        (
            "deadline",
            "get_job",
            {"farmId": "farm-nothex", "queueId": "queue-" + "0" * 32, "jobId": "job-" + "0" * 32},
            "ValidationException",
        ),
        (
            "deadline",
            "list_jobs",
            {"farmId": "farm-" + "0" * 32, "queueId": "queue-" + "0" * 32, "maxResults": 1000},
            "ValidationException",
        ),
        (
            "deadline",
            "search_jobs",
            {"farmId": "farm-" + "0" * 32, "queueIds": ["queue-" + "0" * 32]},
            "ValidationException",
        ),
        ("amplify", "get_job", {"appId": "NOT-AN-APP", "branchName": "main", "jobId": "1"}, "BadRequestException"),
        ("amplify", "get_job", {"appId": "dabc", "branchName": "main", "jobId": "one"}, "BadRequestException"),
        ("iot", "describe_job", {"jobId": "bad.job.id"}, "InvalidRequestException"),
        ("iot", "list_jobs", {"nextToken": "not-a-token-we-issued"}, "InvalidRequestException"),
        ("braket", "get_job", {"jobArn": "not-an-arn"}, "ValidationException"),
        (
            "braket",
            "get_job",
            {"jobArn": "arn:aws:braket:us-east-1:123456789012:job/x", "additionalAttributeNames": ["Everything"]},
            "ValidationException",
        ),
        ("braket", "search_jobs", {}, "ValidationException"),
        (
            "braket",
            "search_jobs",
            {"filters": [{"name": "colour", "values": ["red"], "operator": "EQUAL"}]},
            "ValidationException",
        ),
    ],
)
async def test_malformed_input_is_the_services_validation_error(
    service: str, call: str, params: dict[str, Any], code: str, clients: Any
) -> None:
    client = await clients(service, validate=False)  # let the bad input reach the wire
    with pytest.raises(ClientError) as caught:
        await getattr(client, call)(**params)
    assert error_code(caught.value) == code
    assert http_status(caught.value) == 400
    if service == "deadline":
        assert caught.value.response["reason"] in ("FIELD_VALIDATION_FAILED", "CANNOT_PARSE")


def sigv4(service: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential=testing/20240501/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0000"
    )


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "code"),
    [
        ("POST", "/", {"X-Amz-Target": "DeviceFarm_20150623.GetJob"}, b"{not json", 400, "ArgumentException"),
        ("POST", "/", {"X-Amz-Target": "DeviceFarm_20150623.GetJob"}, b"", 400, "ArgumentException"),
        ("POST", "/", {"X-Amz-Target": "DeviceFarm_20150623.GetJob"}, b"[1, 2]", 400, "ArgumentException"),
        ("POST", "/", {"X-Amz-Target": "DeviceFarm_20150623.GetJob"}, b"\xff\xfe", 400, "ArgumentException"),
        ("POST", "/", {"X-Amz-Target": "DeviceFarm_20150623.ListRuns"}, b"{}", 400, "UnknownOperationException"),
        ("POST", "/jobs", {"Authorization": sigv4("braket")}, b"{broken", 400, "ValidationException"),
        ("POST", "/jobs", {"Authorization": sigv4("braket")}, b'{"filters": "all"}', 400, "ValidationException"),
        (
            "POST",
            "/2023-10-12/farms/farm-" + "0" * 32 + "/search/jobs",
            {"Authorization": sigv4("deadline")},
            b"null",
            400,
            "ValidationException",
        ),
        ("GET", "/jobs?maxResults=lots", {"Authorization": sigv4("iot")}, b"", 400, "InvalidRequestException"),
        ("GET", "/jobs/%00", {"Authorization": sigv4("iot")}, b"", 400, "InvalidRequestException"),
        # The signing service decides where colliding paths go: Braket has no GET /jobs.
        ("GET", "/jobs", {"Authorization": sigv4("braket")}, b"", 404, "UnknownOperationException"),
        ("GET", "/apps/dabc/branches", {"Authorization": sigv4("amplify")}, b"", 404, "UnknownOperationException"),
    ],
)
async def test_raw_malformed_requests_never_crash_the_simulator(
    method: str, path: str, headers: dict[str, str], body: bytes, status: int, code: str, sim: SimulatorThread
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, sim.url + path, headers=headers, data=body) as response,
    ):
        payload = await response.read()
        assert response.status == status
        error_type = response.headers.get("x-amzn-ErrorType", "").split(":")[0]
        sent = error_type or json.loads(payload)["__type"].split("#")[-1]
        assert sent == code
    stats = sim.control.stats()
    assert stats["totals"]["errors"] == 0  # none of these is a fault of ours


async def test_requests_no_simulated_service_answers_get_a_plain_404(sim: SimulatorThread) -> None:
    async with aiohttp.ClientSession() as session, session.get(sim.url + "/nothing/here") as response:
        assert response.status == 404
        assert "message" in await response.json()
