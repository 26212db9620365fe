"""Device Farm (json protocol): GetJob(arn), ListJobs(arn=run ARN). Timestamps in epoch seconds."""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from collections.abc import Mapping
from typing import Any

from watcher.simulator.jobs import Step
from watcher.simulator.paging import page
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

REGION = "us-west-2"  # Device Farm lives in us-west-2 only
PAGE_SIZE = 25  # ListJobs takes no page size; the service picks one
_JOB_ARN = re.compile(rf"arn:aws:devicefarm:{REGION}:\d{{12}}:job:([0-9a-f-]{{36}})/([0-9a-f-]{{36}})/(\d{{5}})")
_RUN_ARN = re.compile(rf"arn:aws:devicefarm:{REGION}:\d{{12}}:run:[0-9a-f-]{{36}}/[0-9a-f-]{{36}}")
COUNTERS = ("total", "passed", "failed", "warned", "errored", "stopped", "skipped")

DEVICES = (
    ("Google Pixel 7", "Google", "Pixel 7", "ANDROID", "13", "PHONE"),
    ("Samsung Galaxy S23", "Samsung", "SM-S911U1", "ANDROID", "14", "PHONE"),
    ("Apple iPhone 14", "Apple", "iPhone 14", "IOS", "16.4", "PHONE"),
    ("Apple iPad Air (5th generation)", "Apple", "iPad Air 5", "IOS", "17.1", "TABLET"),
    ("OnePlus 11", "OnePlus", "CPH2449", "ANDROID", "13", "PHONE"),
)
SUITES = ("checkout-flow", "login-regression", "smoke", "payments-e2e", "onboarding", "search-ui")


def _uuid(text: str) -> str:
    return str(uuid.UUID(hashlib.md5(text.encode()).hexdigest()))


def run_arn(project: str, run: str) -> str:
    """A run ARN (what ListJobs takes)."""
    return f"arn:aws:devicefarm:{REGION}:{ACCOUNT}:run:{project}/{run}"


def run_of(job_arn: str) -> str:
    """The run a job ARN belongs to."""
    return job_arn.replace(":job:", ":run:", 1).rsplit("/", 1)[0]


DEFAULT_RUN = run_arn(_uuid("jobwatch-sim project"), _uuid("jobwatch-sim run"))


def _device(index: int) -> dict[str, Any]:
    name, maker, model, platform, os, form = DEVICES[index % len(DEVICES)]
    return {
        "arn": f"arn:aws:devicefarm:{REGION}::device:{hashlib.md5(name.encode()).hexdigest().upper()}",
        "name": name,
        "manufacturer": maker,
        "model": model,
        "modelId": model,
        "formFactor": form,
        "platform": platform,
        "os": os,
        "remoteAccessEnabled": False,
        "availability": "AVAILABLE",
    }


def _counters(**values: int) -> dict[str, int]:
    return {name: values.get(name, 0) for name in COUNTERS}


class DeviceFarmSim:
    """Device Farm's jobs: one device's test execution within a run."""

    service = "devicefarm"
    identity = ("arn",)
    overridable = ("arn", "runArn")  # runArn: put the job in that run, with the next index

    def check_name(self, name: str) -> str | None:
        return None if 0 < len(name) <= 256 else "devicefarm job names are 1 to 256 characters"

    def make_params(self, name: str, overrides: Mapping[str, str], alloc: Allocator) -> dict[str, str]:
        if "arn" in overrides:
            if not _JOB_ARN.fullmatch(overrides["arn"]):
                raise ValueError(
                    f"devicefarm arn must look like arn:aws:devicefarm:{REGION}:<account>:job:"
                    "<project uuid>/<run uuid>/<5 digits>"
                )
            return {"arn": overrides["arn"]}
        run = overrides.get("runArn", DEFAULT_RUN)
        if not _RUN_ARN.fullmatch(run):
            raise ValueError(
                f"devicefarm runArn must look like arn:aws:devicefarm:{REGION}:<account>:run:<project uuid>/<run uuid>"
            )
        index = alloc.next_number(f"devicefarm:{run}") - 1
        return {"arn": f"{run.replace(':run:', ':job:', 1)}/{index:05d}"}

    def base(self, name: str, params: Mapping[str, str], created: float) -> dict[str, Any]:
        return {
            "job": {
                "arn": params["arn"],
                "name": name,
                "type": "APPIUM_PYTHON",
                "created": epoch(created),
                "status": "PENDING",
                "result": "PENDING",
                "counters": _counters(),
                "device": _device(0),
                "deviceMinutes": {"total": 0.0, "metered": 0.0, "unmetered": 0.0},
                "videoCapture": True,
            }
        }

    def status(self, answer: Mapping[str, Any]) -> str | None:
        return text_status(dig(answer, "job", "status"))

    def random_identity(self, rng: random.Random, index: int, memo: dict[str, Any]) -> tuple[str, dict[str, str]]:
        # Runs of ten device jobs each (a test run fans out over a device pool), three runs per project.
        if index % 10 == 0:
            if index % 30 == 0:
                memo["project"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            memo["run"] = run_arn(memo["project"], str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        suite = rng.choice(SUITES)
        return f"{suite} on {DEVICES[index % len(DEVICES)][0]} #{index}", {"runArn": memo["run"]}

    def lifecycle(
        self, rng: random.Random, name: str, params: Mapping[str, str], created: float, scale: float
    ) -> list[Step]:
        t = Timeline(created, scale, epoch)
        fallback = rng.randrange(len(DEVICES))
        device = _device(next((i for i, d in enumerate(DEVICES) if d[0] in name), fallback))
        queued = rng.uniform(3, 8)
        running = rng.uniform(12, 35)
        total = rng.randint(12, 60)
        outcome = pick_outcome(rng)
        errored = outcome == "failure" and rng.random() < 0.3
        # Each test's result, decided up front; the counters then walk through them.
        results = ["passed"] * total
        if outcome == "failure" and not errored:
            for i in rng.sample(range(total), rng.randint(1, max(1, total // 5))):
                results[i] = "failed"
        for i in rng.sample(range(total), rng.randint(0, 2)):
            if results[i] == "passed":
                results[i] = rng.choice(("skipped", "warned"))
        t.at(0, {"job": {"device": device, "type": rng.choice(("APPIUM_PYTHON", "APPIUM_JAVA_TESTNG", "XCTEST_UI"))}})
        t.at(queued * 0.25, {"job": {"status": rng.choice(("PENDING_DEVICE", "PENDING_CONCURRENCY"))}})
        t.at(queued * 0.5, {"job": {"status": "PROCESSING"}})
        t.at(queued * 0.7, {"job": {"status": "SCHEDULING"}})
        t.at(queued * 0.85, {"job": {"status": "PREPARING"}})
        t.at(queued, {"job": {"status": "RUNNING", "started": t.stamp(queued), "counters": _counters(total=total)}})
        stop = running * (rng.uniform(0.3, 0.7) if outcome == "cancel" or errored else 1.0)
        offset = rng.uniform(1.5, 3.5)
        done = 0
        while offset < stop:
            done = min(total, round(total * offset / running))
            counts = {k: results[:done].count(k) for k in ("passed", "failed", "skipped", "warned")}
            t.at(queued + offset, {"job": {"counters": _counters(total=total, **counts)}})
            offset += rng.uniform(1.5, 3.5)
        end = queued + stop
        minutes = round(stop * 0.9, 2)
        final: dict[str, Any] = {
            "status": "COMPLETED",
            "stopped": t.stamp(end),
            "deviceMinutes": {"total": minutes, "metered": minutes, "unmetered": 0.0},
        }
        if outcome == "cancel":
            t.at(end, {"job": {"status": "STOPPING"}})
            counts = {k: results[:done].count(k) for k in ("passed", "failed", "skipped", "warned")}
            final.update(
                result="STOPPED",
                message="The job was stopped by the user.",
                counters=_counters(total=total, stopped=total - done, **counts),
            )
            t.at(end + 1.5, {"job": final})
        elif errored:
            # The device session dies mid-run: the tests so far keep their results, one more errors.
            counts = {k: results[:done].count(k) for k in ("passed", "failed", "skipped", "warned")}
            final.update(
                result="ERRORED",
                counters=_counters(total=total, errored=1, **counts),
                message="Teardown failed: the Appium session was lost (UiAutomator2 instrumentation process "
                "is not running) and the device was rebooted.",
            )
            t.at(end, {"job": final})
        else:
            counts = {k: results.count(k) for k in ("passed", "failed", "skipped", "warned")}
            final["counters"] = _counters(total=total, **counts)
            if counts["failed"]:
                final.update(
                    result="FAILED",
                    message=(
                        f"{counts['failed']} of {total} tests failed. First failure: test_{name.split()[0]}: "
                        "NoSuchElementException: An element could not be located on the page using the given "
                        "search parameters (id=com.example.shop:id/checkout_button)."
                    ),
                )
            else:
                final["result"] = "WARNED" if counts["warned"] else "PASSED"
            t.at(end, {"job": final})
        return t.steps


def _get_job(call: Call) -> Any:
    return find(call, "devicefarm", ("arn",), "Job").answer(call.now)


def _list_jobs(call: Call) -> Any:
    run = call.params["arn"]
    jobs = [j for j in call.jobs("devicefarm") if run_of(j.params["arn"]) == run]
    chosen, token = page(jobs, call.params.get("nextToken"), PAGE_SIZE)
    found = (dig(j.answer(call.now), "job") for j in chosen)
    answer: dict[str, Any] = {"jobs": [job for job in found if isinstance(job, dict)]}
    if token:
        answer["nextToken"] = token
    return answer


SIM = DeviceFarmSim()
OPERATIONS: dict[str, Handler] = {"GetJob": _get_job, "ListJobs": _list_jobs}
