"""Amplify Hosting (rest-json): GetJob and ListJobs under /apps/{appId}/branches/{branchName}/jobs. Epoch timestamps."""

from __future__ import annotations

import hashlib
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
DEFAULT_APP = "d2a1b2c3d4e5f6"
DEFAULT_BRANCH = "main"
_APP = re.compile(r"d[a-z0-9]{1,19}")
STEPS = ("BUILD", "DEPLOY", "VERIFY")
COMMITS = (
    "Merge pull request #{n} from acme/feature/checkout-redesign",
    "Fix hydration error on /pricing",
    "Bump next from 14.1.0 to 14.2.3",
    "Add <Banner> for the spring sale & update copy",
    'Revert "Enable edge middleware"',
    "chore: regenerate GraphQL types",
)
FAILURES = {
    "BUILD": "Build failed: `npm run build` exited with code 1 (Type error: Property 'price' does not exist "
    "on type 'Product'. ./components/Cart.tsx:42:17)",
    "DEPLOY": "Deployment failed: the build output is 241 MB, larger than the 230 MB limit for a deployment.",
    "VERIFY": "Verification failed: the app answered HTTP 500 on / for 3 of 3 device screenshots.",
}


def _log_url(params: Mapping[str, str], step: str) -> str:
    return (
        f"https://aws-amplify-prod-{REGION}-artifacts.s3.{REGION}.amazonaws.com/{params['appId']}/"
        f"{params['branchName']}/{params['jobId']}/{step}/log.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600"
    )


class AmplifySim:
    """Amplify Hosting jobs: one build-and-deploy of a branch, in steps."""

    service = "amplify"
    identity = ("appId", "branchName", "jobId")
    overridable = ("appId", "branchName")

    def check_name(self, name: str) -> str | None:
        return None if 0 < len(name) <= 256 else "amplify job names are 1 to 256 characters"

    def make_params(self, name: str, overrides: Mapping[str, str], alloc: Allocator) -> dict[str, str]:
        app = overrides.get("appId", DEFAULT_APP)
        branch = overrides.get("branchName", DEFAULT_BRANCH)
        if not _APP.fullmatch(app):
            raise ValueError(f"amplify appId must be d followed by up to 19 lowercase letters or digits, got {app!r}")
        if not 0 < len(branch) <= 255:
            raise ValueError("amplify branchName must be 1 to 255 characters")
        return {"appId": app, "branchName": branch, "jobId": str(alloc.next_number(f"amplify:{app}/{branch}"))}

    def base(self, name: str, params: Mapping[str, str], created: float) -> dict[str, Any]:
        return {
            "job": {
                "summary": {
                    "jobArn": f"arn:aws:amplify:{REGION}:{ACCOUNT}:apps/{params['appId']}/branches/"
                    f"{params['branchName']}/jobs/{int(params['jobId']):010d}",
                    "jobId": params["jobId"],
                    "commitId": hashlib.sha1(name.encode()).hexdigest(),
                    "commitMessage": name,
                    "commitTime": epoch(created - 30),
                    "startTime": epoch(created),
                    "status": "PENDING",
                    "jobType": "WEB_HOOK",
                },
                "steps": [],
            }
        }

    def status(self, answer: Mapping[str, Any]) -> str | None:
        return text_status(dig(answer, "job", "summary", "status"))

    def random_identity(self, rng: random.Random, index: int, memo: dict[str, Any]) -> tuple[str, dict[str, str]]:
        if "apps" not in memo:
            memo["apps"] = [
                "d" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(13)) for _ in range(2)
            ]
        branch = ("main", "main", "staging", "feature/checkout")[index % 4]
        return f"{branch} build #{index}", {"appId": memo["apps"][index % 2], "branchName": branch}

    def lifecycle(
        self, rng: random.Random, name: str, params: Mapping[str, str], created: float, scale: float
    ) -> list[Step]:
        t = Timeline(created, scale, epoch)
        message = rng.choice(COMMITS).format(n=rng.randint(100, 999))
        t.at(
            0,
            {
                "job": {
                    "summary": {
                        "commitMessage": message,
                        "commitId": f"{rng.getrandbits(160):040x}",
                        "jobType": rng.choice(("WEB_HOOK", "WEB_HOOK", "MANUAL", "RELEASE")),
                    }
                }
            },
        )
        queued = rng.uniform(2, 6)
        durations = {"BUILD": rng.uniform(8, 25), "DEPLOY": rng.uniform(3, 8), "VERIFY": rng.uniform(2, 5)}
        outcome = pick_outcome(rng)
        failing = rng.choices(STEPS, weights=(60, 25, 15))[0] if outcome == "failure" else None
        t.at(queued * 0.5, {"job": {"summary": {"status": "PROVISIONING"}}})
        t.at(queued, {"job": {"summary": {"status": "RUNNING"}}})
        done: list[dict[str, Any]] = []
        clock = queued
        for step in STEPS:
            start = clock
            running = {
                "stepName": step,
                "startTime": t.stamp(start),
                "status": "RUNNING",
                "endTime": t.stamp(start),  # required by the model even while running
                "logUrl": _log_url(params, step),
            }
            t.at(start, {"job": {"steps": [*done, running]}})
            clock += durations[step]
            if outcome == "cancel" and step == "BUILD":
                cut = start + durations[step] * rng.uniform(0.3, 0.8)
                t.at(cut, {"job": {"summary": {"status": "CANCELLING"}}})
                cancelled = {**running, "status": "CANCELLED", "endTime": t.stamp(cut + 1.5)}
                t.at(
                    cut + 1.5,
                    {
                        "job": {
                            "summary": {"status": "CANCELLED", "endTime": t.stamp(cut + 1.5)},
                            "steps": [*done, cancelled],
                        }
                    },
                )
                return t.steps
            finished = {**running, "status": "FAILED" if step == failing else "SUCCEED", "endTime": t.stamp(clock)}
            if step == "BUILD":
                finished["artifactsUrl"] = _log_url(params, step).replace("log.txt", "artifacts.zip")
            if step == failing:
                finished["statusReason"] = FAILURES[step]
                t.at(
                    clock,
                    {"job": {"summary": {"status": "FAILED", "endTime": t.stamp(clock)}, "steps": [*done, finished]}},
                )
                return t.steps
            done.append(finished)
        t.at(clock, {"job": {"summary": {"status": "SUCCEED", "endTime": t.stamp(clock)}, "steps": done}})
        return t.steps


def _get_job(call: Call) -> Any:
    return find(call, "amplify", AmplifySim.identity, "Job").answer(call.now)


def _list_jobs(call: Call) -> Any:
    app, branch = call.params["appId"], call.params["branchName"]
    jobs = [j for j in call.jobs("amplify") if j.params["appId"] == app and j.params["branchName"] == branch]
    # Amplify lists the newest job first.
    chosen, token = page(jobs, call.params.get("nextToken"), call.params.get("maxResults") or 50, newest_first=True)
    members = member_names("amplify", "JobSummary")
    summaries = (dig(j.answer(call.now), "job", "summary") for j in chosen)
    answer: dict[str, Any] = {"jobSummaries": [project(s, members) for s in summaries if isinstance(s, dict)]}
    if token:
        answer["nextToken"] = token
    return answer


SIM = AmplifySim()
OPERATIONS: dict[str, Handler] = {"GetJob": _get_job, "ListJobs": _list_jobs}
