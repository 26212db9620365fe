"""``jobwatch wait``: watch one job to its end and exit with its outcome, like ``aws ... wait`` for all five services.

The same engine as the daemon, with its state in memory and nothing else watched. Exit codes:

====  ===========================================================================================
0     the job succeeded
1     the job failed
2     usage or access error: bad parameters, unknown service, access denied, invalid identity,
      or the job is not found (twice in a row, as the daemon confirms a vanished job)
3     the job was cancelled
4     ``--timeout`` passed before the job ended
130   interrupted (SIGINT/SIGTERM)
====  ===========================================================================================

Polling does not stretch while nothing changes (every ``--interval``), and transient errors
(throttling, 5xx, timeouts) are retried until ``--timeout``. Notifications (``--notify URL``, any apprise
URL) get every event but the baseline and progress, and are delivered before the command exits.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from dataclasses import dataclass, field
from typing import IO, Any

import anyio
import structlog
from botocore.exceptions import ClientError
from pydantic import ValidationError

from watcher import logging as jlogging
from watcher.clients import Failure, classify
from watcher.commands import parse_params
from watcher.config import ApiSettings, JobConfig, Settings, load_settings
from watcher.durations import format_duration, parse_duration
from watcher.errors import JobwatchError
from watcher.model import Event, EventKind, JobInfo, Phase, arn_region
from watcher.notify.settings import ChannelConfig, NotifySettings
from watcher.services import adapter_for
from watcher.store import JobState, Store

log = structlog.get_logger(__name__)

EXIT_SUCCEEDED, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
OUTCOME_CODES = {Phase.SUCCEEDED: EXIT_SUCCEEDED, Phase.FAILED: EXIT_FAILED, Phase.CANCELLED: EXIT_CANCELLED}
DRAIN_TIMEOUT = 30.0  # longest wait for the last notifications after the job ended
_FATAL = (Failure.DENIED, Failure.INVALID)  # polling again will not fix these


@dataclass(slots=True)
class Outcome:
    """How the wait ended: exit code, a word for it, and the job's last phase and status."""

    code: int
    word: str
    phase: str | None = None
    status: str | None = None
    detail: str | None = None


@dataclass(slots=True)
class Printer:
    """Writes each transition as a plain line or a JSON line."""

    out: IO[str]
    as_json: bool
    lines: list[str] = field(default_factory=list)

    def event(self, state: JobState, event: Event) -> None:
        snap = state.snapshot
        if self.as_json:
            line = json.dumps(
                {
                    "at": event.at.isoformat(),
                    "job": state.key,
                    "kind": event.kind.value,
                    "old": event.old,
                    "new": event.new,
                    "phase": snap.phase.value if snap else None,
                    "status": snap.status if snap else None,
                    "summary": event.summary,
                    "detail": dict(event.detail),
                },
                default=str,
            )
        else:
            line = f"{event.at:%Y-%m-%d %H:%M:%S}Z  {event.summary}"
        self.write(line)

    def outcome(self, key: str, outcome: Outcome) -> None:
        if self.as_json:
            line = json.dumps(
                {
                    "kind": "exit",
                    "job": key,
                    "outcome": outcome.word,
                    "exit_code": outcome.code,
                    "phase": outcome.phase,
                    "status": outcome.status,
                    "detail": outcome.detail,
                }
            )
        else:
            status = f" ({outcome.status})" if outcome.status else ""
            detail = f": {outcome.detail}" if outcome.detail else ""
            line = f"{key}: {outcome.word}{status}{detail} (exit {outcome.code})"
        self.write(line)

    def write(self, line: str) -> None:
        self.lines.append(line)
        print(line, file=self.out, flush=True)


def wait_settings(
    base: Settings,
    *,
    interval: float,
    notify: list[str],
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
) -> Settings:
    """The settings of one wait: ``base``'s AWS and rate limits, steady polling, state in memory, no API.

    Only ``base``'s AWS settings and service rate limits are kept: its jobs, discovery rules and
    channels are not this command's business.
    """
    aws = base.aws.model_copy(
        update={
            "region": region or base.aws.region,
            "profile": profile or base.aws.profile,
            "endpoint_url": endpoint_url or base.aws.endpoint_url,
        }
    )
    watcher = base.watcher.model_copy(
        update={
            "state": ":memory:",
            "poll_interval": interval,
            "max_poll_interval": interval,  # a CI step waits on the job, not on a stretched interval
            "stuck_after": 0.0,
            "error_backoff_cap": max(interval, min(60.0, interval * 6)),
        }
    )
    services = {
        name: s.model_copy(update={"poll_interval": None, "max_poll_interval": None})
        for name, s in base.services.items()
    }
    channels = [ChannelConfig(name=f"notify-{i + 1}", url=url) for i, url in enumerate(notify)]
    notify_settings = NotifySettings(
        default_channels=[c.name for c in channels],
        retry_base=min(1.0, interval),
        retry_cap=2.0,  # the command waits for its last notices: retry often
        max_age=max(DRAIN_TIMEOUT, 60.0),
    )
    # model_copy, not a dump and re-validation: durations would round-trip through their text form
    return base.model_copy(
        update={
            "watcher": watcher,
            "aws": aws,
            "services": services,
            "api": ApiSettings.model_validate({"enabled": False}),
            "notify": notify_settings,
            "channels": channels,
            "routes": [],
            "mutes": [],
            "jobs": [],
            "discover": [],
        }
    )


def job_info(service: str, params: dict[str, str], name: str | None = None, region: str | None = None) -> JobInfo:
    """The job to wait for (in the region its ARN names, unless told); JobwatchError names the field at fault."""
    try:
        job = JobConfig.model_validate(
            {"service": service, "name": name, "region": region or arn_region(params), **params}
        )
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise JobwatchError("; ".join(problems)) from None
    return job.info()


async def wait_for(
    settings: Settings,
    info: JobInfo,
    *,
    give_up_after: float | None = None,
    printer: Printer,
) -> Outcome:
    """Watch ``info`` until it ends or ``give_up_after`` seconds pass; print transitions; deliver notifications."""
    from watcher.daemon import build

    store = Store.open(":memory:")
    try:
        engine, notifier = build(settings, store)
        problems = notifier.problems()
        if problems:
            raise JobwatchError("; ".join(problems))
        ended = anyio.Event()
        result: list[Outcome] = []

        def finish(outcome: Outcome) -> None:
            if not result:
                result.append(outcome)
                ended.set()

        def listener(state: JobState, events: Any) -> None:
            if state.key != info.key:
                return
            for event in events:
                printer.event(state, event)
                if event.kind is EventKind.ERROR:
                    kind, error_code, _ = classify(
                        ClientError({"Error": {"Code": event.new or "", "Message": ""}}, "wait")
                    )
                    if kind in _FATAL:
                        finish(Outcome(EXIT_USAGE, "error", detail=f"{error_code}: {event.detail.get('message', '')}"))
            snap = state.snapshot
            if state.done and state.done_reason == "vanished":
                finish(Outcome(EXIT_USAGE, "not found", detail="the service no longer knows this job"))
            elif state.done and snap is not None:
                code = OUTCOME_CODES.get(snap.phase, EXIT_FAILED)
                finish(Outcome(code, snap.phase.value, snap.phase.value, snap.status, snap.failure))

        engine.listeners.append(listener)

        async def watch() -> None:
            try:
                with anyio.move_on_after(give_up_after):
                    await _first_call(engine, info, finish)
                    if not result:
                        engine.add(info, source="wait", announce_finished=True)
                        await ended.wait()
                if not result:
                    state = engine.get(info.key)
                    snap = state.snapshot if state else None
                    finish(
                        Outcome(
                            EXIT_TIMEOUT,
                            "timeout",
                            snap.phase.value if snap else None,
                            snap.status if snap else None,
                            f"still not over after {format_duration(give_up_after or 0)}",
                        )
                    )
                await _drain(store, settings)
            finally:
                engine.stop()

        await engine.run(watch)
    finally:
        store.close()
    return result[0]


async def _first_call(engine: Any, info: JobInfo, finish: Any) -> None:
    """One read before watching: access denied or a malformed identity ends the wait at once (exit 2)."""
    adapter = adapter_for(info.ref.service)
    try:
        await engine.call(engine.client_key(info.ref), adapter.operation, adapter.request(info.ref.params))
    except Exception as exc:
        kind, code, message = classify(exc)
        if kind in _FATAL:
            finish(Outcome(EXIT_USAGE, "error", detail=f"{code}: {message}" if message else code))
        # throttling, 5xx, not found (confirmed again by the engine): the engine's polls decide


async def _drain(store: Store, settings: Settings) -> None:
    """Wait (bounded) until the outbox is empty, so the last notification is sent before the exit."""
    if not settings.channels:
        return
    with anyio.move_on_after(DRAIN_TIMEOUT):
        while store.outbox_depth():  # noqa: ASYNC110 - the outbox is a table; no event tells it emptied
            await anyio.sleep(0.05)
    left = store.outbox_depth()
    if left:
        print(f"jobwatch: {left} notification(s) could not be delivered in time", file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    """``jobwatch wait``: parse, validate, watch; return the exit code."""
    jlogging.configure("warning", "auto")
    try:
        params = parse_params(args.params)
        interval = parse_duration(args.interval)
        if interval <= 0:
            raise ValueError("--interval must be more than 0")
        timeout = parse_duration(args.timeout) if args.timeout else None
        info = job_info(args.service, params, region=args.region)
        settings = wait_settings(
            load_settings(None),
            interval=interval,
            notify=list(args.notify),
            region=args.region,
            profile=args.profile,
            endpoint_url=args.endpoint_url,
        )
    except (JobwatchError, ValueError) as exc:
        print(f"jobwatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    printer = Printer(sys.stdout, args.json)
    try:
        outcome = anyio.run(_main, settings, info, timeout, printer, backend="asyncio")
    except JobwatchError as exc:
        print(f"jobwatch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    printer.outcome(info.key, outcome)
    return outcome.code


async def _main(settings: Settings, info: JobInfo, give_up_after: float | None, printer: Printer) -> Outcome:
    """Wait, unless a signal comes first."""
    outcome: list[Outcome] = []
    try:
        async with anyio.create_task_group() as tg:

            async def on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _ in signals:
                        outcome.append(Outcome(EXIT_INTERRUPTED, "interrupted"))
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(on_signal)
            outcome.append(await wait_for(settings, info, give_up_after=give_up_after, printer=printer))
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # a problem meant for the user (a bad --notify URL, an unwritable state) is not a crash
        mine = [exc for exc in group.exceptions if isinstance(exc, JobwatchError)]
        if mine:
            raise mine[0] from None
        raise
    return outcome[0]
