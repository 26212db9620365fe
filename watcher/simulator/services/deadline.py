"""Deadline Cloud (rest-json): GetJob, ListJobs, SearchJobs under /2023-10-12/farms/... ISO 8601 timestamps."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping
from typing import Any

from watcher.simulator.jobs import Step
from watcher.simulator.models import member_names
from watcher.simulator.paging import page, project
from watcher.simulator.services import deadline_search
from watcher.simulator.services.base import Allocator, Call, Handler, Timeline, find, pick_outcome, text_status
from watcher.simulator.wire import iso

TASK_STATUSES = (
    "PENDING",
    "READY",
    "ASSIGNED",
    "STARTING",
    "SCHEDULED",
    "INTERRUPTING",
    "RUNNING",
    "SUSPENDED",
    "CANCELED",
    "FAILED",
    "SUCCEEDED",
    "NOT_COMPATIBLE",
)
_HEX = re.compile(r"[0-9a-f]{32}")
DEFAULT_FARM = "farm-" + hashlib.md5(b"jobwatch-sim farm").hexdigest()
DEFAULT_QUEUE = "queue-" + hashlib.md5(b"jobwatch-sim queue").hexdigest()
USER = "90a7f1c2-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
SHOTS = ("sq010_sh0040", "sq020_sh0110", "sq030_sh0200", "trailer_v3", "lookdev_hero", "fx_ocean_sim")
WHAT = ("comp", "lighting", "render", "fx cache", "denoise", "turntable")


def counts(**values: int) -> dict[str, int]:
    """A full taskRunStatusCounts map (the service lists every status)."""
    return {status: values.get(status, 0) for status in TASK_STATUSES}


def _hex_id(prefix: str, value: str) -> str:
    if not (value.startswith(prefix + "-") and _HEX.fullmatch(value[len(prefix) + 1 :])):
        raise ValueError(f"deadline {prefix}Id must be {prefix}-<32 hex digits>, got {value!r}")
    return value


class DeadlineSim:
    """Deadline Cloud jobs: a render or compute job of many tasks in a farm's queue."""

    service = "deadline"
    identity = ("farmId", "queueId", "jobId")
    overridable = ("farmId", "queueId")

    def check_name(self, name: str) -> str | None:
        return None if 0 < len(name) <= 512 else "deadline job names are 1 to 512 characters"

    def make_params(self, name: str, overrides: Mapping[str, str], alloc: Allocator) -> dict[str, str]:
        farm = _hex_id("farm", overrides.get("farmId", DEFAULT_FARM))
        queue = _hex_id("queue", overrides.get("queueId", DEFAULT_QUEUE))
        job = "job-" + hashlib.md5(f"{farm}/{queue}/{name}".encode()).hexdigest()
        return {"farmId": farm, "queueId": queue, "jobId": job}

    def base(self, name: str, params: Mapping[str, str], created: float) -> dict[str, Any]:
        return {
            "jobId": params["jobId"],
            "name": name,
            "lifecycleStatus": "CREATE_COMPLETE",
            "lifecycleStatusMessage": "Job creation complete.",
            "priority": 50,
            "createdAt": iso(created),
            "createdBy": USER,
            "taskRunStatus": "PENDING",
            "taskRunStatusCounts": counts(),
            "taskFailureRetryCount": 0,
            "maxFailedTasksCount": 20,
            "maxRetriesPerTask": 5,
            "maxWorkerCount": -1,
            "parameters": {"Frames": {"string": "1-100"}},
        }

    def status(self, answer: Mapping[str, Any]) -> str | None:
        return text_status(answer.get("taskRunStatus", answer.get("lifecycleStatus")))

    def random_identity(self, rng: random.Random, index: int, memo: dict[str, Any]) -> tuple[str, dict[str, str]]:
        if "farm" not in memo:
            memo["farm"] = f"farm-{rng.getrandbits(128):032x}"
            memo["queues"] = [f"queue-{rng.getrandbits(128):032x}" for _ in range(2)]
        name = f"{rng.choice(SHOTS)} {rng.choice(WHAT)} v{rng.randint(1, 12)} #{index}"
        return name, {"farmId": memo["farm"], "queueId": memo["queues"][index % 2]}

    def lifecycle(
        self, rng: random.Random, name: str, params: Mapping[str, str], created: float, scale: float
    ) -> list[Step]:
        t = Timeline(created, scale, iso)
        tasks = rng.randint(8, 120)
        queued = rng.uniform(3, 8)
        running = rng.uniform(12, 40)
        workers = rng.randint(2, 16)
        outcome = pick_outcome(rng)
        first, last = rng.randint(1, 1000), 0
        last = first + tasks - 1
        t.at(
            0,
            {
                "description": f"Frames {first}-{last} of <{name.split('#')[0].strip()}> & denoise pass",
                "parameters": {"Frames": {"string": f"{first}-{last}"}},
                "priority": rng.choice((25, 50, 50, 75)),
                "taskRunStatusCounts": counts(PENDING=tasks),
            },
        )
        if outcome == "failure" and rng.random() < 0.25:
            # The job template is rejected while the job is being created: no task ever runs.
            t.at(0, {"lifecycleStatus": "CREATE_IN_PROGRESS", "lifecycleStatusMessage": "Job creation in progress."})
            t.at(
                queued * 0.6,
                {
                    "lifecycleStatus": "CREATE_FAILED",
                    "taskRunStatus": None,
                    "taskRunStatusCounts": counts(),
                    "lifecycleStatusMessage": "Job template validation failed: step 'Render' references the undefined "
                    "parameter 'OutputDir'.",
                },
            )
            return t.steps
        t.at(queued * 0.4, {"taskRunStatus": "READY", "taskRunStatusCounts": counts(READY=tasks)})
        t.at(
            queued * 0.8,
            {
                "taskRunStatus": "STARTING",
                "taskRunStatusCounts": counts(ASSIGNED=min(workers, tasks), READY=tasks - min(workers, tasks)),
            },
        )
        t.at(queued, {"taskRunStatus": "RUNNING", "startedAt": t.stamp(queued)})
        stop = running * (rng.uniform(0.3, 0.7) if outcome == "cancel" else 1.0)
        fail_every = rng.randint(4, 9) if outcome == "failure" else 0
        offset, done, failed = 0.0, 0, 0
        if rng.random() < 0.2:  # someone bumps the priority while it runs
            t.at(queued + 1, {"lifecycleStatus": "UPDATE_IN_PROGRESS", "lifecycleStatusMessage": "Updating job."})
            t.at(
                queued + 2,
                {
                    "lifecycleStatus": "UPDATE_SUCCEEDED",
                    "priority": 90,
                    "updatedBy": USER,
                    "updatedAt": t.stamp(queued + 2),
                    "lifecycleStatusMessage": "Job updated.",
                },
            )
        while offset < stop:
            finished = min(tasks, round(tasks * offset / running))
            failed = finished // fail_every if fail_every else 0
            done = finished - failed
            active = min(workers, tasks - finished)
            t.at(
                queued + offset,
                {
                    "taskRunStatusCounts": counts(
                        SUCCEEDED=done, FAILED=failed, RUNNING=active, READY=tasks - finished - active
                    ),
                    "taskFailureRetryCount": failed * 5,
                },
            )
            offset += rng.uniform(1.5, 3.5)
        end = queued + stop
        if outcome == "cancel":
            t.at(end, {"targetTaskRunStatus": "CANCELED", "updatedBy": USER, "updatedAt": t.stamp(end)})
            t.at(
                end + 1.5,
                {
                    "taskRunStatus": "CANCELED",
                    "endedAt": t.stamp(end + 1.5),
                    "taskRunStatusCounts": counts(SUCCEEDED=done, FAILED=failed, CANCELED=tasks - done - failed),
                },
            )
        else:
            failed = tasks // fail_every if fail_every else 0
            t.at(
                end,
                {
                    "taskRunStatus": "FAILED" if failed else "SUCCEEDED",
                    "endedAt": t.stamp(end),
                    "taskRunStatusCounts": counts(SUCCEEDED=tasks - failed, FAILED=failed),
                    "taskFailureRetryCount": failed * 5,
                },
            )
        return t.steps


def _get_job(call: Call) -> Any:
    return find(call, "deadline", DeadlineSim.identity, "job").answer(call.now)


def _list_jobs(call: Call) -> Any:
    farm, queue = call.params["farmId"], call.params["queueId"]
    jobs = [j for j in call.jobs("deadline") if j.params["farmId"] == farm and j.params["queueId"] == queue]
    chosen, token = page(jobs, call.params.get("nextToken"), call.params.get("maxResults") or 100)
    members = member_names("deadline", "JobSummary")
    answer: dict[str, Any] = {"jobs": [project(j.answer(call.now), members) for j in chosen]}
    if token:
        answer["nextToken"] = token
    return answer


def _search_jobs(call: Call) -> Any:
    farm, queues = call.params["farmId"], set(call.params["queueIds"])
    members = member_names("deadline", "JobSearchSummary")
    deadline_search.check(call.params.get("filterExpressions"))
    found = []
    for job in call.jobs("deadline"):
        if job.params["farmId"] != farm or job.params["queueId"] not in queues:
            continue
        answer = dict(job.answer(call.now))
        answer["queueId"] = job.params["queueId"]
        if "parameters" in answer:
            answer["jobParameters"] = answer["parameters"]
        if deadline_search.matches(answer, call.params.get("filterExpressions")):
            found.append(project(answer, members))
    found = deadline_search.sort(found, call.params.get("sortExpressions"))
    offset, size = call.params["itemOffset"], call.params.get("pageSize") or 100
    result: dict[str, Any] = {"jobs": found[offset : offset + size], "totalResults": len(found)}
    if offset + size < len(found):
        result["nextItemOffset"] = offset + size
    return result


SIM = DeadlineSim()
OPERATIONS: dict[str, Handler] = {"GetJob": _get_job, "ListJobs": _list_jobs, "SearchJobs": _search_jobs}
