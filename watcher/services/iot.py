"""AWS IoT jobs: ``describe_job(jobId)`` answers ``{"job": {...}, "documentSource": ...}``.

A job runs on many things; ``jobProcessDetails`` counts the things by execution state. A SNAPSHOT job
completes once every thing's execution has ended; a CONTINUOUS job keeps adding things that join its groups
and never completes on its own (only cancellation or deletion end it), so it is marked ``continuous`` in
``info`` for whoever decides that a job is stuck.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from watcher.model import Phase, Snapshot
from watcher.services import _read as r
from watcher.services._spec import IdField, ServiceSpec
from watcher.services.base import Discovery

STATUSES: Mapping[str, Phase] = {
    "SCHEDULED": Phase.QUEUED,  # waits for its scheduled start
    "IN_PROGRESS": Phase.RUNNING,
    "COMPLETED": Phase.SUCCEEDED,  # every execution ended; per-thing failures show in the counters
    "CANCELED": Phase.CANCELLED,
    "DELETION_IN_PROGRESS": Phase.CANCELLED,  # being deleted: it will not run any further
}

COUNTERS: Mapping[str, str] = {
    "succeeded": "numberOfSucceededThings",
    "failed": "numberOfFailedThings",
    "rejected": "numberOfRejectedThings",
    "timed_out": "numberOfTimedOutThings",
    "canceled": "numberOfCanceledThings",
    "removed": "numberOfRemovedThings",
    "queued": "numberOfQueuedThings",
    "in_progress": "numberOfInProgressThings",
}


class Iot(ServiceSpec):
    """IoT jobs (a document sent to many things)."""

    service = "iot"
    operation = "describe_job"
    fields = (
        IdField("jobId", pattern="[a-zA-Z0-9_-]+", looks_like="a job id of letters, digits, - and _", max_length=64),
    )
    statuses = STATUSES
    terminal_statuses = frozenset({"COMPLETED", "CANCELED", "DELETION_IN_PROGRESS"})
    discovery = Discovery(
        operation="list_jobs",
        required=(),
        optional=("status", "targetSelection", "thingGroupName", "thingGroupId", "namespaceId"),
        items_key="jobs",
    )

    def read(self, answer: Mapping[str, Any]) -> Snapshot:
        """Read ``describe_job``'s answer; a cancelled job's failure detail is its reason code and comment."""
        job = r.answer_part(answer, "job", self.service)
        status = r.code(job.get("status"))
        counters = r.counts(job.get("jobProcessDetails"), COUNTERS)
        reason_code = r.code(job.get("reasonCode"))
        forced = r.flag(job.get("forceCanceled"))
        comment = r.text(job.get("comment"))
        phase = r.phase_of(STATUSES, status)
        failure = None
        if phase is Phase.CANCELLED:  # by a user or by the job's abort configuration: say which, if told
            failure = r.text(": ".join(part for part in (reason_code, comment) if part)) or None
        result = reason_code
        if forced:
            result = f"{reason_code} (forced)" if reason_code else "forced"
        target_selection = r.code(job.get("targetSelection"))
        return Snapshot(
            phase=phase,
            status=status or "",
            terminal=status in self.terminal_statuses,
            result=result,
            name=r.code(job.get("jobId")),
            counters=counters,
            failure=failure,
            created_at=r.when(job.get("createdAt")),
            ended_at=r.when(job.get("completedAt")),
            info=r.compact(
                description=r.text(job.get("description")),  # free text from the job's author: untrusted
                comment=comment,
                target_selection=target_selection,
                continuous=True if target_selection == "CONTINUOUS" else None,
                force_canceled=forced,
            ),
        )

    def discovered(self, rule: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
        """A job of ``list_jobs(...)``: its id (which is also its name)."""
        return {"jobId": self.item_field(item, "jobId")}, None

    def console_url(self, params: Mapping[str, str], region: str) -> str | None:
        """The job's page in the AWS IoT console."""
        job = params.get("jobId")
        if not job:
            return None
        where = quote(region, safe="")
        return f"https://{where}.console.aws.amazon.com/iot/home?region={where}#/job/{quote(job, safe='')}"


ADAPTER = Iot()
