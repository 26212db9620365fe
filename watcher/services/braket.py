"""Amazon Braket hybrid jobs: ``get_job(jobArn, additionalAttributeNames=["QueueInfo"])``.

The job's fields are the answer's top level. Braket keeps its own event list (``events[]``: queued,
starting instance, running, ...), which the differ reports entry by entry, and, with the QueueInfo
attribute asked for, the job's position in the hybrid-jobs queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from watcher.model import JobEventRecord, Phase, Snapshot
from watcher.services import _read as r
from watcher.services._spec import IdField, ServiceSpec
from watcher.services.base import AnswerError, Discovery

STATUSES: Mapping[str, Phase] = {
    "QUEUED": Phase.QUEUED,
    "RUNNING": Phase.RUNNING,
    "CANCELLING": Phase.RUNNING,  # ends as CANCELLED
    "COMPLETED": Phase.SUCCEEDED,
    "FAILED": Phase.FAILED,
    "CANCELLED": Phase.CANCELLED,
}


class Braket(ServiceSpec):
    """Braket hybrid jobs."""

    service = "braket"
    operation = "get_job"
    fields = (
        IdField(
            "jobArn",
            pattern=r"arn:aws[a-z\-]*:braket:[a-z0-9\-]+:[0-9]{12}:job/.*",
            looks_like="a job ARN such as arn:aws:braket:us-east-1:123456789012:job/NAME",
        ),
    )
    statuses = STATUSES
    terminal_statuses = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
    extras: Mapping[str, Any] = {"additionalAttributeNames": ["QueueInfo"]}
    discovery = Discovery(operation="search_jobs", required=(), optional=("filters",), items_key="jobs")
    discovery_defaults: Mapping[str, Any] = {"filters": []}  # the call requires the list, even empty

    def read(self, answer: Mapping[str, Any]) -> Snapshot:
        """Read ``get_job``'s answer (the job's fields are the answer's top level)."""
        job = r.answer_part(answer, None, self.service)
        status = r.code(job.get("status"))
        if status is None and r.code(job.get("jobArn")) is None:
            raise AnswerError("braket answer holds no job (no jobArn or status)")
        phase = r.phase_of(STATUSES, status)
        queue = r.obj(job.get("queueInfo"))
        instance = r.obj(job.get("instanceConfig"))
        events = tuple(
            JobEventRecord(
                at=r.when(event.get("timeOfEvent")),
                type=r.code(event.get("eventType")) or "",
                message=r.text(event.get("message")),
            )
            for event in r.objs(job.get("events"))
        )
        return Snapshot(
            phase=phase,
            status=status or "",
            terminal=status in self.terminal_statuses,
            name=r.text(job.get("jobName"), r.CODE_LIMIT),
            events=events,
            queue_position=r.code(queue.get("position")),
            failure=r.text(job.get("failureReason")),
            created_at=r.when(job.get("createdAt")),
            started_at=r.when(job.get("startedAt")),
            ended_at=r.when(job.get("endedAt")),
            info=r.compact(
                billable_duration_ms=r.integer(job.get("billableDuration")),
                # the job's own limit: running past it (plus a grace) is reported as stuck
                max_runtime_s=r.integer(r.obj(job.get("stoppingCondition")).get("maxRuntimeInSeconds")),
                instance_type=r.code(instance.get("instanceType")),
                instance_count=r.integer(instance.get("instanceCount")),
                device=r.text(r.obj(job.get("deviceConfig")).get("device"), 256),
                queue_message=r.text(queue.get("message")),
            ),
        )

    def discovered(self, rule: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
        """A job of ``search_jobs(filters=...)``: its ARN and name."""
        return {"jobArn": self.item_field(item, "jobArn")}, r.text(item.get("jobName"), r.CODE_LIMIT)

    def console_url(self, params: Mapping[str, str], region: str) -> str | None:
        """The job's page in the Braket console (in the ARN's region)."""
        arn = params.get("jobArn")
        if not arn:
            return None
        parts = arn.split(":")
        where = quote(parts[3] if len(parts) > 3 and parts[3] else region, safe="")
        return f"https://{where}.console.aws.amazon.com/braket/home?region={where}#/jobs/{quote(arn, safe=':/')}"


ADAPTER = Braket()
