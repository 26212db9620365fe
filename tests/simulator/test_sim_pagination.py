"""Pagination over several pages with botocore's own paginators, stable while jobs come and go."""

from __future__ import annotations

from typing import Any

import pytest

from watcher.simulator import SimulatorThread
from watcher.simulator.services.devicefarm import DEFAULT_RUN, PAGE_SIZE

pytestmark = pytest.mark.anyio


async def pages(client: Any, call: str, key: str, **params: Any) -> list[list[Any]]:
    return [page[key] async for page in client.get_paginator(call).paginate(**params)]


async def test_device_farm_list_jobs_pages_through_a_big_run(sim: SimulatorThread, clients: Any) -> None:
    for i in range(PAGE_SIZE * 2 + 3):
        sim.control.add_job("devicefarm", f"device {i}")
    client = await clients("devicefarm")
    got = await pages(client, "list_jobs", "jobs", arn=DEFAULT_RUN)
    assert [len(p) for p in got] == [PAGE_SIZE, PAGE_SIZE, 3]
    assert [j["name"] for p in got for j in p] == [f"device {i}" for i in range(PAGE_SIZE * 2 + 3)]


async def test_deadline_list_jobs_and_search_jobs_page(sim: SimulatorThread, clients: Any) -> None:
    jobs = [sim.control.add_job("deadline", f"frame batch {i}") for i in range(11)]
    farm, queue = jobs[0]["params"]["farmId"], jobs[0]["params"]["queueId"]
    client = await clients("deadline")
    got = await pages(client, "list_jobs", "jobs", farmId=farm, queueId=queue, PaginationConfig={"PageSize": 4})
    assert [len(p) for p in got] == [4, 4, 3]
    assert [j["jobId"] for p in got for j in p] == [j["params"]["jobId"] for j in jobs]

    offsets, seen = [0], []
    while offsets[-1] is not None:
        answer = await client.search_jobs(farmId=farm, queueIds=[queue], itemOffset=offsets[-1], pageSize=5)
        assert answer["totalResults"] == 11
        seen += [j["name"] for j in answer["jobs"]]
        offsets.append(answer.get("nextItemOffset"))
    assert offsets == [0, 5, 10, None] and seen == [f"frame batch {i}" for i in range(11)]
    newest = await client.search_jobs(
        farmId=farm,
        queueIds=[queue],
        itemOffset=0,
        pageSize=2,
        sortExpressions=[{"fieldSort": {"name": "NAME", "sortOrder": "DESCENDING"}}],
    )
    assert [j["name"] for j in newest["jobs"]] == ["frame batch 9", "frame batch 8"]


async def test_amplify_list_jobs_pages_newest_first(sim: SimulatorThread, clients: Any) -> None:
    for i in range(7):
        sim.control.add_job("amplify", f"commit {i}")
    client = await clients("amplify")
    got = await pages(
        client, "list_jobs", "jobSummaries", appId="d2a1b2c3d4e5f6", branchName="main", PaginationConfig={"PageSize": 3}
    )
    assert [[s["jobId"] for s in p] for p in got] == [["7", "6", "5"], ["4", "3", "2"], ["1"]]


async def test_iot_list_jobs_pages_and_survives_jobs_vanishing_between_pages(
    sim: SimulatorThread, clients: Any
) -> None:
    for i in range(10):
        sim.control.add_job("iot", f"rollout-{i}")
    client = await clients("iot")
    first = await client.list_jobs(maxResults=4)
    assert [j["jobId"] for j in first["jobs"]] == [f"rollout-{i}" for i in range(4)]
    sim.control.vanish("iot", "rollout-2")  # already seen
    sim.control.vanish("iot", "rollout-5")  # not yet seen
    sim.control.add_job("iot", "rollout-late")
    rest = await pages(
        client, "list_jobs", "jobs", PaginationConfig={"PageSize": 4, "StartingToken": first["nextToken"]}
    )
    assert [j["jobId"] for p in rest for j in p] == [
        "rollout-4",
        "rollout-6",
        "rollout-7",
        "rollout-8",
        "rollout-9",
        "rollout-late",
    ]


async def test_braket_search_jobs_pages(sim: SimulatorThread, clients: Any) -> None:
    for i in range(9):
        sim.control.add_job("braket", f"sweep-{i}")
    client = await clients("braket")
    got = await pages(client, "search_jobs", "jobs", filters=[], PaginationConfig={"PageSize": 4})
    assert [len(p) for p in got] == [4, 4, 1]
    created = [j["createdAt"] for p in got for j in p]
    later = await client.search_jobs(
        filters=[{"name": "createdAt", "operator": "GTE", "values": [created[5].isoformat()]}]
    )
    assert {j["jobName"] for j in later["jobs"]} >= {"sweep-5", "sweep-8"}
