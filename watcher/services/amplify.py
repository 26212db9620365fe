"""AWS Amplify Hosting: ``get_job(appId, branchName, jobId)`` answers ``{"job": {"summary": ..., "steps": [...]}}``.

The summary's ``status`` is the job's; each step (BUILD, DEPLOY, VERIFY, ...) has its own status, kept as
``steps`` so the differ can report the step that failed, with its reason and log link.
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
    "CREATED": Phase.QUEUED,  # newer than the printed API reference; seen before PENDING
    "PENDING": Phase.QUEUED,
    "PROVISIONING": Phase.RUNNING,  # the build container is being set up: the job has started
    "RUNNING": Phase.RUNNING,
    "CANCELLING": Phase.RUNNING,  # ends as CANCELLED
    "FAILED": Phase.FAILED,
    "SUCCEED": Phase.SUCCEEDED,
    "CANCELLED": Phase.CANCELLED,
}

FAILED_STEP = "FAILED"


class Amplify(ServiceSpec):
    """Amplify build and deploy jobs of an app's branch."""

    service = "amplify"
    operation = "get_job"
    fields = (
        IdField("appId", pattern="d[a-z0-9]+", looks_like="an app id such as d1a2b3c4d5e6f7", max_length=20),
        IdField("branchName", pattern="(?s).+", looks_like="a branch name such as main", max_length=255),
        IdField("jobId", pattern="[0-9]+", looks_like="a job number such as 42", max_length=255),
    )
    statuses = STATUSES
    terminal_statuses = frozenset({"FAILED", "SUCCEED", "CANCELLED"})
    discovery = Discovery(
        operation="list_jobs", required=("appId", "branchName"), optional=(), items_key="jobSummaries"
    )

    def read(self, answer: Mapping[str, Any]) -> Snapshot:
        """Read ``get_job``'s answer: the summary's status plus every step's status."""
        job = r.answer_part(answer, "job", self.service)
        summary = r.obj(job.get("summary"))
        status = r.code(summary.get("status"))
        phase = r.phase_of(STATUSES, status)
        steps: dict[str, str] = {}
        failed_steps: dict[str, dict[str, str]] = {}
        for step in r.objs(job.get("steps")):
            name, step_status = r.code(step.get("stepName")), r.code(step.get("status"))
            if name is None or step_status is None:
                continue
            steps[name] = step_status
            if step_status == FAILED_STEP:
                failed_steps[name] = r.compact(
                    reason=r.text(step.get("statusReason"), 1000), log_url=r.text(step.get("logUrl"), 1000)
                )
        first_failed = next(iter(failed_steps), None)
        failure = None
        if first_failed is not None and phase is not Phase.SUCCEEDED:
            reason = failed_steps[first_failed].get("reason")
            failure = f"{first_failed} step failed: {reason}" if reason else f"{first_failed} step failed"
        return Snapshot(
            phase=phase,
            status=status or "",
            terminal=status in self.terminal_statuses,
            steps=steps,
            failure=failure,
            started_at=r.when(summary.get("startTime")),
            ended_at=r.when(summary.get("endTime")),
            info=r.compact(
                commit_id=r.code(summary.get("commitId")),
                commit_message=r.text(summary.get("commitMessage")),  # written by whoever pushed: untrusted
                job_type=r.code(summary.get("jobType")),
                log_url=failed_steps[first_failed].get("log_url") if first_failed is not None else None,
                failed_steps=failed_steps or None,
            ),
        )

    def discovered(self, rule: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
        """A job of ``list_jobs(appId, branchName)``: app and branch from the rule, job id from the item."""
        params = {
            "appId": str(rule["appId"]),
            "branchName": str(rule["branchName"]),
            "jobId": self.item_field(item, "jobId"),
        }
        return params, None

    def console_url(self, params: Mapping[str, str], region: str) -> str | None:
        """The job's page in the Amplify console."""
        parts = [params.get(name) for name in self.identity]
        if not all(parts):
            return None
        app, branch, job = (quote(str(part), safe="") for part in parts)
        where = quote(region, safe="")
        return f"https://{where}.console.aws.amazon.com/amplify/home?region={where}#/{app}/{branch}/{job}"


ADAPTER = Amplify()
