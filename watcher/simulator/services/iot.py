"""AWS IoT jobs (rest-json): DescribeJob (GET /jobs/{jobId}) and ListJobs (GET /jobs). Epoch timestamps."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

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
from watcher.simulator.wire import epoch

REGION = "us-east-1"
_JOB_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
GROUPS = ("fleet-eu-west", "fleet-us-east", "gateways-canary", "sensors-warehouse-7")
WHAT = ("ota-firmware-2-4-1", "cert-rotation", "config-push-telemetry", "agent-update-1-9", "reboot-canary")


def processing(targets: list[str] | None = None, **values: int) -> dict[str, Any]:
    """A jobProcessDetails structure (counts default to 0)."""
    names = ("Canceled", "Succeeded", "Failed", "Rejected", "Queued", "InProgress", "Removed", "TimedOut")
    details: dict[str, Any] = {"processingTargets": targets or []}
    details.update({f"numberOf{n}Things": values.get(n, 0) for n in names})
    return details


class IotSim:
    """AWS IoT jobs: a rollout of a job document to a set of things; CONTINUOUS jobs never end."""

    service = "iot"
    identity = ("jobId",)
    overridable = ()

    def check_name(self, name: str) -> str | None:
        if _JOB_ID.fullmatch(name):
            return None
        return "iot job names are the jobId: 1 to 64 letters, digits, '_' or '-'"

    def make_params(self, name: str, overrides: Mapping[str, str], alloc: Allocator) -> dict[str, str]:
        return {"jobId": name}

    def base(self, name: str, params: Mapping[str, str], created: float) -> dict[str, Any]:
        return {
            "job": {
                "jobArn": f"arn:aws:iot:{REGION}:{ACCOUNT}:job/{name}",
                "jobId": name,
                "targetSelection": "SNAPSHOT",
                "status": "SCHEDULED",
                "forceCanceled": False,
                "targets": [f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{GROUPS[0]}"],
                "description": f"Rollout {name}",
                "createdAt": epoch(created),
                "lastUpdatedAt": epoch(created),
                "jobProcessDetails": processing(),
                "timeoutConfig": {"inProgressTimeoutInMinutes": 60},
                "isConcurrent": False,
            }
        }

    def status(self, answer: Mapping[str, Any]) -> str | None:
        return text_status(dig(answer, "job", "status"))

    def random_identity(self, rng: random.Random, index: int, memo: dict[str, Any]) -> tuple[str, dict[str, str]]:
        return f"{rng.choice(WHAT)}-{rng.getrandbits(24):06x}-{index}", {}

    def lifecycle(
        self, rng: random.Random, name: str, params: Mapping[str, str], created: float, scale: float
    ) -> list[Step]:
        t = Timeline(created, scale, epoch)
        things = rng.randint(20, 500)
        group = rng.choice(GROUPS)
        continuous = rng.random() < 0.25
        outcome = "continuous" if continuous else pick_outcome(rng)
        queued = rng.uniform(3, 8) if rng.random() < 0.4 else 0.0  # some are scheduled for later
        running = rng.uniform(12, 40)
        target = f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/{group}"
        t.at(
            0,
            {
                "job": {
                    "targets": [target],
                    "targetSelection": "CONTINUOUS" if continuous else "SNAPSHOT",
                    "description": f"{name.rsplit('-', 2)[0]} for <{group}> (canary & fleet)",
                    "jobProcessDetails": processing(Queued=things),
                }
            },
        )
        t.at(
            queued,
            {
                "job": {
                    "status": "IN_PROGRESS",
                    "lastUpdatedAt": t.stamp(queued),
                    "jobProcessDetails": processing(targets=[target], Queued=things),
                }
            },
        )
        fail_share = rng.uniform(0.15, 0.3) if outcome == "failure" else rng.uniform(0.0, 0.03)
        stop = running * (rng.uniform(0.3, 0.7) if outcome in ("cancel", "failure") else 1.0)
        offset, counts = rng.uniform(1.5, 3.5), processing(Queued=things)
        while offset < stop:
            finished = min(things, round(things * offset / running))
            failed = round(finished * fail_share)
            active = min(things - finished, max(1, things // 10))
            counts = processing(
                targets=[target],
                Succeeded=finished - failed,
                Failed=failed - failed // 4,
                TimedOut=failed // 4,
                InProgress=active,
                Queued=things - finished - active,
            )
            t.at(queued + offset, {"job": {"jobProcessDetails": counts, "lastUpdatedAt": t.stamp(queued + offset)}})
            offset += rng.uniform(1.5, 3.5)
        end = queued + stop
        if outcome == "continuous":
            return t.steps  # a CONTINUOUS job stays IN_PROGRESS for new things joining the group
        final: dict[str, Any] = {"lastUpdatedAt": t.stamp(end), "completedAt": t.stamp(end)}
        if outcome == "success":
            failed = round(things * fail_share)
            final.update(
                status="COMPLETED",
                jobProcessDetails=processing(targets=[target], Succeeded=things - failed, Failed=failed),
            )
        elif outcome == "failure":
            final.update(
                status="CANCELED",
                reasonCode="FAILURE_THRESHOLD_EXCEEDED",
                comment=(
                    "Job canceled by its abort configuration: more than 10% of executions FAILED "
                    "(minimum 10 executed things)."
                ),
            )
        else:
            forced = rng.random() < 0.3
            final.update(
                status="CANCELED",
                forceCanceled=forced,
                reasonCode="OPERATOR_HALT",
                comment="Rollout halted by the on-call engineer: battery drain reports from canary devices.",
            )
        t.at(end, {"job": final})
        return t.steps


def _describe_job(call: Call) -> Any:
    return find(call, "iot", ("jobId",), "Job").answer(call.now)


def _list_jobs(call: Call) -> Any:
    members = member_names("iot", "JobSummary")
    wanted = {k: call.params[k] for k in ("status", "targetSelection", "thingGroupId") if k in call.params}
    group = call.params.get("thingGroupName")
    chosen_jobs = []
    for job in call.jobs("iot"):
        body = dig(job.answer(call.now), "job")
        if not isinstance(body, dict) or any(body.get(k) != v for k, v in wanted.items()):
            continue
        if group is not None and not any(str(t).endswith(f":thinggroup/{group}") for t in body.get("targets") or ()):
            continue
        if call.params.get("namespaceId") is not None and body.get("namespaceId") != call.params["namespaceId"]:
            continue
        chosen_jobs.append(job)
    chosen, token = page(chosen_jobs, call.params.get("nextToken"), call.params.get("maxResults") or 250)
    answer: dict[str, Any] = {"jobs": [project(job.answer(call.now)["job"], members) for job in chosen]}
    if token:
        answer["nextToken"] = token
    return answer


SIM = IotSim()
OPERATIONS: dict[str, Handler] = {"DescribeJob": _describe_job, "ListJobs": _list_jobs}
