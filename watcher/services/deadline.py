"""AWS Deadline Cloud: ``get_job(farmId, queueId, jobId)`` answers the job's fields at the top level.

The primary status is ``taskRunStatus`` (how the job's tasks run); ``lifecycleStatus`` (creation, upload,
update, archive) is kept as the result. A job ends exactly when botocore's ``JobComplete`` waiter stops
(task run status SUCCEEDED, FAILED, CANCELED, SUSPENDED or NOT_COMPATIBLE, or lifecycle ARCHIVED), and also
when its creation or upload failed, since such a job never runs. Discovery uses ``list_jobs``; ``search_jobs``
(farm-wide, filter expressions, offset paging) also exists and is not used here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from watcher.model import Phase, Snapshot
from watcher.services import _read as r
from watcher.services._spec import IdField, ServiceSpec
from watcher.services.base import AnswerError, Discovery

STATUSES: Mapping[str, Phase] = {
    "PENDING": Phase.QUEUED,  # waiting on dependencies
    "READY": Phase.QUEUED,  # ready, waiting for a worker
    "ASSIGNED": Phase.RUNNING,  # a worker has taken tasks: the job has started
    "STARTING": Phase.RUNNING,
    "SCHEDULED": Phase.RUNNING,
    "RUNNING": Phase.RUNNING,
    "INTERRUPTING": Phase.RUNNING,  # a cancel or suspend is under way; the end state follows
    "SUSPENDED": Phase.CANCELLED,  # stopped by a user (can be requeued, but JobComplete treats it as the end)
    "CANCELED": Phase.CANCELLED,
    "FAILED": Phase.FAILED,
    "SUCCEEDED": Phase.SUCCEEDED,
    "NOT_COMPATIBLE": Phase.FAILED,  # no fleet of the queue can run it: it will never run
}

# exactly the JobComplete waiter's acceptors (tests/unit/test_services.py checks this against botocore)
WAITER_TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "SUSPENDED", "NOT_COMPATIBLE"})
WAITER_TERMINAL_LIFECYCLE = frozenset({"ARCHIVED"})
# lifecycle states in which a job will never run, beyond the waiter's
FAILED_LIFECYCLE = frozenset({"CREATE_FAILED", "UPLOAD_FAILED"})
# when a job has no task run status yet (it is optional in the model), the lifecycle says it is queued
_WAITING_LIFECYCLE = frozenset({"CREATE_IN_PROGRESS", "CREATE_COMPLETE", "UPLOAD_IN_PROGRESS"})

_HEX32 = "[0-9a-f]{32}"


class Deadline(ServiceSpec):
    """Deadline Cloud jobs in a farm's queue."""

    service = "deadline"
    operation = "get_job"
    fields = (
        IdField("farmId", pattern=f"farm-{_HEX32}", looks_like="farm- followed by 32 hex digits"),
        IdField("queueId", pattern=f"queue-{_HEX32}", looks_like="queue- followed by 32 hex digits"),
        IdField("jobId", pattern=f"job-{_HEX32}", looks_like="job- followed by 32 hex digits"),
    )
    statuses = STATUSES
    terminal_statuses = WAITER_TERMINAL_STATUSES
    discovery = Discovery(
        operation="list_jobs", required=("farmId", "queueId"), optional=("principalId",), items_key="jobs"
    )

    def read(self, answer: Mapping[str, Any]) -> Snapshot:
        """Read ``get_job``'s answer (the job's fields are the answer's top level)."""
        job = r.answer_part(answer, None, self.service)
        status = r.code(job.get("taskRunStatus"))
        lifecycle = r.code(job.get("lifecycleStatus"))
        if status is None and lifecycle is None and r.code(job.get("jobId")) is None:
            raise AnswerError("deadline answer holds no job (no jobId, taskRunStatus or lifecycleStatus)")
        counters = _task_counts(job.get("taskRunStatusCounts"))
        phase = self._phase(status, lifecycle)
        terminal = (
            status in WAITER_TERMINAL_STATUSES
            or lifecycle in WAITER_TERMINAL_LIFECYCLE
            or lifecycle in FAILED_LIFECYCLE
        )
        return Snapshot(
            phase=phase,
            status=status or "",
            terminal=terminal,
            result=lifecycle,
            name=r.text(job.get("name"), 512),
            counters=counters,
            failure=_failure(phase, status, lifecycle, r.text(job.get("lifecycleStatusMessage")), counters),
            created_at=r.when(job.get("createdAt")),
            started_at=r.when(job.get("startedAt")),
            ended_at=r.when(job.get("endedAt")),
            info=r.compact(
                description=r.text(job.get("description")),  # free text from the submitter: untrusted
                priority=r.integer(job.get("priority")),
                task_failure_retry_count=r.integer(job.get("taskFailureRetryCount")),
                target_status=r.code(job.get("targetTaskRunStatus")),
            ),
        )

    @staticmethod
    def _phase(status: str | None, lifecycle: str | None) -> Phase:
        if lifecycle in FAILED_LIFECYCLE:
            return Phase.FAILED
        if status is None and lifecycle in _WAITING_LIFECYCLE:
            return Phase.QUEUED
        phase = r.phase_of(STATUSES, status)
        if lifecycle in WAITER_TERMINAL_LIFECYCLE and not phase.terminal:
            return Phase.CANCELLED  # archived before its tasks ended: it will not run any more
        return phase

    def discovered(self, rule: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
        """A job of ``list_jobs(farmId, queueId)``: farm and queue from the rule, job id and name from the item."""
        params = {
            "farmId": str(rule["farmId"]),
            "queueId": str(rule["queueId"]),
            "jobId": self.item_field(item, "jobId"),
        }
        return params, r.text(item.get("name"), 512)

    def console_url(self, params: Mapping[str, str], region: str) -> str | None:
        """The farm's page in the Deadline Cloud console.

        The job itself is shown by the farm's Deadline Cloud monitor, whose address jobwatch cannot know.
        """
        farm = params.get("farmId")
        if not farm:
            return None
        where = quote(region, safe="")
        return f"https://{where}.console.aws.amazon.com/deadlinecloud/home?region={where}#/farms/{quote(farm, safe='')}"


def _task_counts(value: Any) -> dict[str, int]:
    """``taskRunStatusCounts`` (task run status -> count) as lower-case counter names."""
    counts: dict[str, int] = {}
    for key, number in list(r.obj(value).items())[: r.MAX_ITEMS]:
        name = r.code(key)
        count = r.integer(number)
        if name is not None and count is not None:
            counts[name.lower()] = count
    return counts


def _failure(
    phase: Phase, status: str | None, lifecycle: str | None, message: str | None, counters: Mapping[str, int]
) -> str | None:
    """Why a job failed: how many tasks failed, and the lifecycle message when creation or upload failed."""
    if phase is not Phase.FAILED:
        return None
    parts: list[str] = []
    if status == "FAILED" and counters.get("failed"):
        total = sum(counters.values())
        parts.append(f"{counters['failed']} of {total} tasks failed")
    elif status == "NOT_COMPATIBLE":
        parts.append("no fleet of the queue is compatible with the job")
    if lifecycle is not None and lifecycle.endswith("_FAILED"):
        # the lifecycle message explains a failed creation or upload; otherwise it is "created" noise
        parts.append(message or lifecycle.lower().replace("_", " "))
    return r.text("; ".join(parts)) or None


ADAPTER = Deadline()
