"""Ready-made lifecycle scripts for simulated jobs: the answers AWS gives at each point of a job's life.

Tests, benchmarks and examples share these so that one table says what "running" or "failed" looks
like on each service (for ``SimControl.add_job(service, name, script)`` or ``POST /_sim/jobs``).
"""

from __future__ import annotations

from typing import Any

# Field patches shaped like each service's read answer.
RUNNING: dict[str, dict[str, Any]] = {
    "devicefarm": {"job": {"status": "RUNNING", "result": "PENDING"}},
    "deadline": {"taskRunStatus": "RUNNING"},
    "amplify": {"job": {"summary": {"status": "RUNNING"}}},
    "iot": {"job": {"status": "IN_PROGRESS"}},
    "braket": {"status": "RUNNING"},
}

PROGRESS: dict[str, dict[str, Any]] = {
    "devicefarm": {"job": {"counters": {"total": 10, "passed": 5, "failed": 0}}},
    "deadline": {"taskRunStatusCounts": {"SUCCEEDED": 5, "RUNNING": 5}},
    "amplify": {"job": {"summary": {"commitMessage": "still building"}}},  # not a diffed facet: no event
    "iot": {"job": {"jobProcessDetails": {"numberOfSucceededThings": 5, "numberOfInProgressThings": 5}}},
    "braket": {"queueInfo": None},
}

# How each service ends, by common phase. IoT has no failed end: a completed rollout only counts its
# failed things, and an abort rule cancels it.
ENDS: dict[str, dict[str, dict[str, Any]]] = {
    "devicefarm": {
        "succeeded": {"job": {"status": "COMPLETED", "result": "PASSED"}},
        "failed": {"job": {"status": "COMPLETED", "result": "FAILED", "message": "2 tests failed on Pixel 8"}},
        "cancelled": {"job": {"status": "COMPLETED", "result": "STOPPED"}},
    },
    "deadline": {
        "succeeded": {"taskRunStatus": "SUCCEEDED"},
        "failed": {"taskRunStatus": "FAILED"},
        "cancelled": {"taskRunStatus": "CANCELED"},
    },
    "amplify": {
        "succeeded": {"job": {"summary": {"status": "SUCCEED"}}},
        "failed": {"job": {"summary": {"status": "FAILED"}}},
        "cancelled": {"job": {"summary": {"status": "CANCELLED"}}},
    },
    "iot": {
        "succeeded": {"job": {"status": "COMPLETED", "jobProcessDetails": {"numberOfSucceededThings": 5}}},
        "cancelled": {"job": {"status": "CANCELED", "reasonCode": "FAILURE_THRESHOLD"}},
    },
    "braket": {
        "succeeded": {"status": "COMPLETED"},
        "failed": {"status": "FAILED", "failureReason": "AlgorithmError: out of memory"},
        "cancelled": {"status": "CANCELLED"},
    },
}


def lifecycle(
    service: str,
    end: str | None,
    *,
    running_at: float = 0.2,
    end_at: float = 0.6,
    extra: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """A script: queued at first, running from ``running_at``, ending as ``end`` (a phase) at ``end_at``."""
    script = [{"at": running_at, "fields": RUNNING[service]}, *(extra or [])]
    if end is not None:
        script.append({"at": end_at, "fields": ENDS[service][end]})
    return script
