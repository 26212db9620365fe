"""The notifier: what the engine and the CLI call. Routing for commits, the dispatcher loop, checks and tests."""

from __future__ import annotations

import random
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import structlog

from watcher.errors import StateError
from watcher.model import SERVICES, Event, EventKind, JobInfo, JobRef, Phase, Snapshot
from watcher.notify.channels import Channel, build_channel
from watcher.notify.dispatch import Dispatcher, ResultHook
from watcher.notify.render import check_template, context, render
from watcher.notify.repeats import check_period, queue_repeats
from watcher.notify.routing import Router
from watcher.notify.settings import ChannelConfig, MuteConfig, NotifySettings, RouteConfig
from watcher.store import Store

if TYPE_CHECKING:
    from watcher.config import Settings

log = structlog.get_logger(__name__)

_IDLE = 60.0  # longest sleep with nothing due: a safety net only, wake() and due times drive the loop


class Notifier:
    """Routes events to channels and delivers the outbox through apprise.

    ``route`` is handed to :meth:`Store.commit_poll`; ``run`` is the dispatcher task; ``wake`` is called
    after a commit that owes notifications; ``drain`` sends what is due before shutdown.
    """

    def __init__(
        self,
        settings: NotifySettings,
        channels: list[ChannelConfig],
        routes: list[RouteConfig],
        mutes: list[MuteConfig],
        *,
        hostname: str | None = None,
        default_region: str | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_result: ResultHook | None = None,
    ) -> None:
        self.settings = settings
        self.configs = list(channels)
        self.routes = list(routes)
        self.mutes = list(mutes)
        self.hostname = hostname or socket.gethostname()
        self.clock = clock
        self.channels: dict[str, Channel] = {}
        self._problems: list[str] = []
        seen: set[str] = set()
        for index, cfg in enumerate(self.configs):
            where = f"channels[{index}]"
            if cfg.name in seen:
                self._problems.append(f"{where}.name: another channel is already called {cfg.name!r}")
                continue
            seen.add(cfg.name)
            channel, problems = build_channel(cfg, settings, where)
            self._problems.extend(problems)
            if channel is not None:
                self.channels[cfg.name] = channel
        self.router = Router(settings, self.routes, self.mutes, clock)
        self.dispatcher = Dispatcher(
            settings,
            self.channels,
            self.router,
            hostname=self.hostname,
            clock=clock,
            rng=rng or random.Random(),
            default_region=default_region,
            on_result=on_result,
        )
        self._wakeups: set[anyio.Event] = set()  # one per running pump (run and, at times, drain)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> Notifier:
        """The notifier a whole configuration describes (its [notify], channels, routes, mutes and region)."""
        options.setdefault("default_region", settings.aws.region)
        return cls(settings.notify, settings.channels, settings.routes, settings.mutes, **options)

    # -- checks ----------------------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """Everything wrong with the notification config, each naming its field; nothing is sent."""
        problems = list(self._problems)
        names = [c.name for c in self.configs]
        known = ", ".join(names) or "(none: add a [[channels]] entry)"

        def check_channels(where: str, wanted: Sequence[str] | None) -> None:
            for name in wanted or ():
                if name not in names:
                    problems.append(f"{where}: unknown channel {name!r}; known: {known}")

        for index, route in enumerate(self.routes):
            check_channels(f"routes[{index}].channels", route.channels)
            problems.extend(_status_problems(f"routes[{index}].when.status", route.when.status, route.when.service))
        check_channels("notify.default_channels", self.settings.default_channels)
        for index, mute in enumerate(self.mutes):
            check_channels(f"mutes[{index}].channels", mute.channels)
        for index, cfg in enumerate(self.configs):
            for name in ("title", "body"):
                source = getattr(cfg, name)
                problem = None if source is None else check_template(source)
                if problem:
                    problems.append(f"channels[{index}].{name}: {problem}")
        return problems

    # -- routing (inside the commit transaction) -------------------------------------------------------

    def route(self, event: Event, job: JobInfo) -> list[str]:
        """The channels ``event`` is owed to (rules, default route, the job's channels; mutes applied)."""
        return self.router.route(event, job)

    # -- delivery --------------------------------------------------------------------------------------

    @property
    def stats(self) -> Counter[tuple[str, str]]:
        """Rows by (channel, outcome): sent, failed (attempts), expired."""
        return self.dispatcher.stats

    def wake(self) -> None:
        """Something was queued (or a channel became free): look for work now, not at the planned wake-up."""
        for event in self._wakeups:
            event.set()

    async def run(self, store: Store) -> None:
        """The dispatcher loop: runs until cancelled."""
        await self._pump(store, flush=False)

    async def drain(self, store: Store, timeout: float) -> int:  # noqa: ASYNC109 (the engine's interface)
        """Send everything owed now (digests too) within ``timeout`` seconds; returns rows still pending."""
        with anyio.move_on_after(timeout):
            await self._pump(store, flush=True)
        return store.outbox_depth()

    async def _pump(self, store: Store, *, flush: bool) -> None:
        """Claim due rows channel by channel and send each channel's in its own task, never waiting for a
        slow channel before serving the others. ``flush`` (drain): take held rows too and return once
        nothing is left to send now; otherwise run until cancelled, queueing reminders as they fall due."""
        period = None if flush else check_period(self.router)
        next_check = 0.0
        failures = 0
        dispatcher = self.dispatcher
        async with anyio.create_task_group() as tg:
            while True:
                wakeup = anyio.Event()
                self._wakeups.add(wakeup)
                try:
                    now = self.clock()
                    claimed = dispatcher.claim(store, now, flush=flush)
                    for name, rows in claimed.items():
                        tg.start_soon(dispatcher.serve, store, name, rows, now, flush, self.wake)
                    if flush and not claimed and not dispatcher.busy:
                        return
                    queued = 0
                    if period is not None and now >= next_check:
                        queued = queue_repeats(store, self.router, now)
                        next_check = now + period
                    if dispatcher.claimed >= dispatcher.batch or queued:
                        wait = 0.0  # more may be due right away
                    elif flush:
                        wait = _IDLE  # until a busy channel finishes
                    else:
                        wait = self._wait(store, now, next_check, period)
                    failures = 0
                except StateError as exc:  # the state file failed (disk full, locked): keep trying, slower
                    failures += 1
                    wait = min(30.0, 0.5 * 2**failures)
                    log.error("notify.state_error", error=str(exc), retry_in=wait)
                if wait > 0:
                    with anyio.move_on_after(wait):
                        await wakeup.wait()
                else:
                    await anyio.lowlevel.checkpoint()  # let the channel tasks run between full batches
                self._wakeups.discard(wakeup)

    def _wait(self, store: Store, now: float, next_check: float, period: float | None) -> float:
        due = store.next_dispatch_at(now, skip=self.dispatcher.busy)
        wait = _IDLE if due is None else due - now
        if period is not None:
            wait = min(wait, next_check - now)
        return max(0.0, min(wait, _IDLE))

    def acknowledge(self, store: Store, job_key: str, comment: str | None = None) -> bool:
        """Stop reminders for a job's current alert; False when the job has no events."""
        upto = store.acknowledge(job_key, self.clock(), comment)
        if upto is None:
            return False
        log.info("notify.acknowledged", job=job_key, event_id=upto)
        return True

    # -- test-notify -----------------------------------------------------------------------------------

    async def send_test(self, channel: str | None = None) -> dict[str, str | None]:
        """Send a sample failure through each channel (or one); {channel: None when delivered, else why not}."""
        names = [channel] if channel is not None else [c.name for c in self.configs]
        results: dict[str, str | None] = dict.fromkeys(names)
        event, job, snapshot = sample_event(self.clock())

        async def one(name: str) -> None:
            target = self.channels.get(name)
            if target is None:
                known = name in {c.name for c in self.configs}
                results[name] = (
                    "the channel's configuration is invalid (see check-config)" if known else "no such channel"
                )
                return
            fields = context(
                event,
                job,
                snapshot,
                hostname=self.hostname,
                field_max_length=self.settings.field_max_length,
            )
            results[name] = await target.send(render(fields, target.style), self.settings.send_timeout)
            log.info("notify.test", channel=name, delivered=results[name] is None, error=results[name])

        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(one, name)
        return results


def sample_event(now: float) -> tuple[Event, JobInfo, Snapshot]:
    """A plausible failed Braket job, for test-notify and template previews."""
    at = datetime.fromtimestamp(now, UTC)
    arn = "arn:aws:braket:us-east-1:123456789012:job/jobwatch-test"
    job = JobInfo(JobRef("braket", {"jobArn": arn}, region="us-east-1"), name="jobwatch test notification")
    snapshot = Snapshot(
        phase=Phase.FAILED,
        status="FAILED",
        terminal=True,
        name="jobwatch-test",
        failure="This is a test notification sent by `jobwatch test-notify`; no job failed.",
        created_at=at - timedelta(minutes=14),
        started_at=at - timedelta(minutes=12),
        ended_at=at,
    )
    event = Event(
        EventKind.PHASE,
        job.key,
        "braket",
        at,
        old=Phase.RUNNING.value,
        new=Phase.FAILED.value,
        summary="jobwatch test notification: running -> failed",
        detail={"status": ["RUNNING", "FAILED"], "failure": snapshot.failure},
    )
    return event, job, snapshot


def _status_problems(where: str, statuses: Sequence[str] | None, services: Sequence[str] | None) -> list[str]:
    """Raw status values no chosen service has (a typo such as SUCCEEDED for Amplify's SUCCEED)."""
    if not statuses:
        return []
    try:
        from watcher.services import adapter_for

        known = {status.upper() for service in (services or SERVICES) for status in adapter_for(service).statuses}
    except (KeyError, ImportError):  # an adapter that cannot load is reported by the engine's own checks
        return []
    wrong = [s for s in statuses if s.upper() not in known]
    if not wrong:
        return []
    shown = sorted(known)
    listing = ", ".join(shown[:40]) + (", ..." if len(shown) > 40 else "")
    hint = (
        " (phases such as 'failed' go in when.phase)"
        if any(w.lower() in {p.value for p in Phase} for w in wrong)
        else ""
    )
    return [f"{where}: unknown status {', '.join(map(repr, wrong))}{hint}; known: {listing}"]
