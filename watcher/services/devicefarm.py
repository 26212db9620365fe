"""AWS Device Farm: ``get_job(arn=...)`` answers ``{"job": {...}}``; the service lives in us-west-2 only.

A job's ``status`` says where it is; once it is COMPLETED, its ``result`` says how it ended, so the phase of
a completed job comes from the result. ``counters`` count tests by outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from watcher.model import Phase, Snapshot
from watcher.services import _read as r
from watcher.services._spec import IdField, ServiceSpec
from watcher.services.base import Discovery

# ARN of a job: arn:aws:devicefarm:<region>:<account>:job:<project id>/<run id>/<job id>
_ARN = IdField(
    "arn",
    pattern=r"arn:aws:devicefarm:.+",
    looks_like="a job ARN such as arn:aws:devicefarm:us-west-2:123456789012:job:PROJECT/RUN/JOB",
    min_length=32,  # the client itself rejects shorter ARNs before sending
    max_length=1011,
)

STATUSES: Mapping[str, Phase] = {
    "PENDING": Phase.QUEUED,
    "PENDING_CONCURRENCY": Phase.QUEUED,  # waiting for a free slot of the account's concurrency
    "PENDING_DEVICE": Phase.QUEUED,  # waiting for a device
    "PROCESSING": Phase.QUEUED,  # the uploads are being processed; no test has started
    "SCHEDULING": Phase.QUEUED,
    "PREPARING": Phase.RUNNING,  # a device is held and being set up: the job has started
    "RUNNING": Phase.RUNNING,
    "STOPPING": Phase.RUNNING,  # a stop was asked for; the job ends as COMPLETED/STOPPED
    "COMPLETED": Phase.SUCCEEDED,  # nominal only: a completed job's phase comes from RESULTS
}

RESULTS: Mapping[str, Phase] = {
    "PASSED": Phase.SUCCEEDED,
    "WARNED": Phase.SUCCEEDED,  # tests passed with warnings
    "SKIPPED": Phase.SUCCEEDED,  # nothing failed; the device or tests were skipped
    "FAILED": Phase.FAILED,
    "ERRORED": Phase.FAILED,
    "STOPPED": Phase.CANCELLED,
    # PENDING (or anything new) on a completed job is not an outcome: the phase is UNKNOWN
}

COUNTERS: Mapping[str, str] = {
    name: name for name in ("total", "passed", "failed", "warned", "errored", "stopped", "skipped")
}


class DeviceFarm(ServiceSpec):
    """Device Farm jobs (one device's part of a test run)."""

    service = "devicefarm"
    operation = "get_job"
    fields = (_ARN,)
    default_region = "us-west-2"
    statuses = STATUSES
    terminal_statuses = frozenset({"COMPLETED"})
    discovery = Discovery(operation="list_jobs", required=("arn",), optional=(), items_key="jobs")

    def read(self, answer: Mapping[str, Any]) -> Snapshot:
        """Read ``get_job``'s answer; the phase of a COMPLETED job comes from its result."""
        job = r.answer_part(answer, "job", self.service)
        status = r.code(job.get("status"))
        result = r.code(job.get("result"))
        terminal = status in self.terminal_statuses
        phase = r.phase_of(RESULTS, result) if terminal else r.phase_of(STATUSES, status)
        message = r.text(job.get("message"))
        device = r.obj(job.get("device"))
        return Snapshot(
            phase=phase,
            status=status or "",
            terminal=terminal,
            result=result,
            name=r.text(job.get("name"), r.CODE_LIMIT * 2),
            counters=r.counts(job.get("counters"), COUNTERS),
            failure=message if phase in (Phase.FAILED, Phase.CANCELLED) else None,
            created_at=r.when(job.get("created")),
            started_at=r.when(job.get("started")),
            ended_at=r.when(job.get("stopped")),
            info=r.compact(
                device=r.text(device.get("name"), 256),
                os=r.code(device.get("os")),
                platform=r.code(device.get("platform")),
                test_type=r.code(job.get("type")),
                message=message,
            ),
        )

    def discovered(self, rule: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
        """A job of ``list_jobs(arn=<run ARN>)``: its ARN and name."""
        return {"arn": self.item_field(item, "arn")}, r.text(item.get("name"), 256)

    def console_url(self, params: Mapping[str, str], region: str) -> str | None:
        """The console page of the job's run (the job ARN names project, run and job)."""
        arn = params.get("arn", "")
        parts = arn.split(":")
        if len(parts) != 7 or parts[5] != "job" or parts[6].count("/") != 2:
            return None
        project, run, _job = (quote(part, safe="") for part in parts[6].split("/"))
        where = quote(parts[3] or region, safe="")
        return (
            f"https://{where}.console.aws.amazon.com/devicefarm/home?region={where}"
            f"#/mobile/projects/{project}/runs/{run}"
        )


ADAPTER = DeviceFarm()
