"""Rendered examples of the default templates: ``python -m watcher.notify.preview [--format FMT]``.

Prints what a channel of each format receives for a few typical events (the README's examples come from
here), so a change to a template can be looked at without a running daemon.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from watcher.model import Event, EventKind, JobEventRecord, JobInfo, JobRef, Phase, Snapshot
from watcher.notify.render import Message, Style, context, render

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FORMATS = ("text", "markdown", "html", "slack")


def examples() -> list[tuple[Event, JobInfo, Snapshot]]:
    """A Braket failure, an Amplify failed step, a Deadline success and a stuck IoT job."""
    braket = JobInfo(
        JobRef("braket", {"jobArn": "arn:aws:braket:us-east-1:123456789012:job/nightly-vqe"}, region="us-east-1"),
        name="nightly VQE",
    )
    amplify = JobInfo(
        JobRef("amplify", {"appId": "d2x8k1", "branchName": "main", "jobId": "42"}, region="eu-west-1"), name="web app"
    )
    deadline = JobInfo(
        JobRef("deadline", {"farmId": "farm-1", "queueId": "queue-1", "jobId": "job-7"}, region="us-west-2"),
        name="render shot 12",
    )
    iot = JobInfo(JobRef("iot", {"jobId": "firmware-2-4"}, region="us-east-1"))
    return [
        (
            Event(
                EventKind.PHASE, braket.key, "braket", AT, "running", "failed", detail={"status": ["RUNNING", "FAILED"]}
            ),
            braket,
            Snapshot(
                phase=Phase.FAILED,
                status="FAILED",
                terminal=True,
                failure="AlgorithmError: ValueError: shots must be positive",
                started_at=AT - timedelta(minutes=47),
                ended_at=AT,
                events=(
                    JobEventRecord(AT - timedelta(minutes=50), "WAITING_FOR_PRIORITY", "Job queued"),
                    JobEventRecord(AT - timedelta(minutes=47), "RUNNING", None),
                    JobEventRecord(AT, "FAILED", "Algorithm script exited with code 1"),
                ),
            ),
        ),
        (
            Event(
                EventKind.STEP_FAILED,
                amplify.key,
                "amplify",
                AT,
                detail={
                    "step": "BUILD",
                    "reason": "npm ERR! code ELIFECYCLE",
                    "log_url": "https://logs.example.com/b/42",
                },
            ),
            amplify,
            Snapshot(
                phase=Phase.RUNNING,
                status="RUNNING",
                terminal=False,
                steps={"BUILD": "FAILED"},
                started_at=AT - timedelta(minutes=3),
                info={"commit_id": "9f3c2e1", "commit_message": "Fix *all* the <things>"},
            ),
        ),
        (
            Event(EventKind.PHASE, deadline.key, "deadline", AT, "running", "succeeded"),
            deadline,
            Snapshot(
                phase=Phase.SUCCEEDED,
                status="SUCCEEDED",
                terminal=True,
                result="UPDATE_SUCCEEDED",
                counters={"succeeded": 240},
                started_at=AT - timedelta(hours=2, minutes=5),
                ended_at=AT,
            ),
        ),
        (
            Event(EventKind.STUCK, iot.key, "iot", AT, None, "running", detail={"seconds": 7200, "phase": "running"}),
            iot,
            Snapshot(
                phase=Phase.RUNNING,
                status="IN_PROGRESS",
                terminal=False,
                counters={"succeeded": 180, "in_progress": 20},
                created_at=AT - timedelta(hours=3),
            ),
        ),
    ]


def preview(fmt: str, hostname: str = "watch-1") -> list[Message]:
    """The example messages as a channel of format ``fmt`` gets them."""
    style = Style(format=fmt, title_format="text" if fmt == "html" else fmt, max_length=4000)
    return [render(context(ev, job, snap, hostname=hostname), style) for ev, job, snap in examples()]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the examples (all formats, or one)."""
    parser = argparse.ArgumentParser(prog="python -m watcher.notify.preview", description=__doc__)
    parser.add_argument("--format", choices=FORMATS, help="only this format")
    args = parser.parse_args(argv)
    for fmt in [args.format] if args.format else FORMATS:
        for message in preview(fmt):
            sys.stdout.write(f"--- {fmt} ({message.notify_type})\ntitle: {message.title}\n{message.body}\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
