"""The watch engine: schedules polls, calls AWS, diffs answers, commits state and wakes the notifier.

One task group holds the daemon's life: a scheduler lane per (service, region), each with its own
token bucket, feeding polls into a global limit on requests in flight; a batch writer for quiet
polls; the notifier's dispatcher; and whatever else the caller adds (API, discovery, signals).
Cancelling the group is shutdown: in-flight polls are dropped before their commit, so they are
simply repeated after a restart.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup

from watcher.clients import ClientKey, ClientPool, Failure, classify
from watcher.config import Settings
from watcher.diff import diff, error_event, stuck_event, vanished_event
from watcher.errors import StateError
from watcher.metrics import Metrics
from watcher.model import Event, EventKind, JobInfo, JobRef, Phase, Snapshot, arn_region
from watcher.ratelimit import TokenBucket
from watcher.services import adapter_for
from watcher.services.base import Adapter, AnswerError
from watcher.store import JobState, Store, from_epoch

log = structlog.get_logger(__name__)

Listener = Callable[[JobState, Sequence[Event]], None]

NOT_FOUND_CONFIRMATIONS = 2  # a job is vanished after this many not-found answers in a row
FLUSH_EVERY = 1.0  # seconds between batched writes of quiet polls
PRUNE_EVERY = 3600.0  # seconds between retention sweeps
OVERRUN_FACTOR, OVERRUN_GRACE = 1.1, 60.0  # past its own limit x1.1 + min(60 s, half the limit): stuck


@dataclass(slots=True)
class Watch:
    """The engine's working state of one job, beside its persisted :class:`JobState`."""

    state: JobState
    adapter: Adapter
    client: ClientKey
    base: float
    cap: float
    interval: float
    announce_finished: bool = True
    seq: int = 0


@dataclass(slots=True)
class Lane:
    """Due polls of one (service, region), paced by that pair's token bucket."""

    bucket: TokenBucket
    heap: list[tuple[float, int, str]] = field(default_factory=list)
    wake: anyio.Event = field(default_factory=anyio.Event)


class Engine:
    """Watches every registered job until it ends. Create, then ``await engine.run()``; ``stop()`` ends it."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        notifier: Any = None,
        *,
        metrics: Metrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.notifier = notifier
        self.metrics = metrics or Metrics()
        if notifier is not None:
            self.metrics.bind_notifications(lambda: notifier.stats)
        self.rng = rng or random.Random()
        self.listeners: list[Listener] = []
        self.started_at = time.time()
        self.ready = anyio.Event()
        self._watches: dict[str, Watch] = {}
        self._lanes: dict[tuple[str, str | None], Lane] = {}
        self._limiter = anyio.Semaphore(settings.watcher.max_in_flight)
        self._touches: list[tuple[str, float, float]] = []
        self._unknown_seen: set[tuple[str, str]] = set()
        self._stop = anyio.Event()
        self._tg: TaskGroup | None = None
        self._pool: ClientPool | None = None
        self.fatal: BaseException | None = None
        self.calls_ok = 0

    # -- public ----------------------------------------------------------------------------------

    async def run(self, *extra: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run until :meth:`stop` (or cancellation). ``extra`` tasks (API, discovery, ...) share the group."""
        aws = self.settings.aws
        async with ClientPool(
            region=aws.region,
            profile=aws.profile,
            endpoint_url=aws.endpoint_url,
            max_attempts=aws.max_attempts,
            max_pool_connections=aws.max_pool_connections,
            timeout=self.settings.watcher.request_timeout,
            role_arn=aws.role_arn,
            external_id=aws.external_id,
        ) as pool:
            self._pool = pool
            self._load()
            # Clients are expensive: make every one the registry needs before the first poll.
            for key in {watch.client for watch in self._watches.values()}:
                await pool.client(key)
            try:
                async with anyio.create_task_group() as tg:
                    self._tg = tg
                    for lane_key in list(self._lanes):
                        tg.start_soon(self._run_lane, lane_key)
                    tg.start_soon(self._flush_loop)
                    if self.settings.watcher.retention > 0:
                        tg.start_soon(self._prune_loop)
                    if self.notifier is not None:
                        tg.start_soon(self.notifier.run, self.store)
                    for task in extra:
                        tg.start_soon(task)
                    self.ready.set()
                    log.info("engine.started", jobs=len(self._watches), lanes=len(self._lanes))
                    await self._stop.wait()
                    tg.cancel_scope.cancel()
            finally:
                self._tg = None
                with anyio.CancelScope(shield=True):
                    self._flush()
                    if self.notifier is not None:
                        with anyio.move_on_after(2.0):
                            await self.notifier.drain(self.store, timeout=2.0)
                log.info("engine.stopped", jobs=len(self._watches))
        if self.fatal is not None:
            raise self.fatal

    def stop(self) -> None:
        """Ask :meth:`run` to finish (idempotent, safe from any task of the loop)."""
        self._stop.set()

    def add(
        self, info: JobInfo, *, source: str = "api", interval: float | None = None, announce_finished: bool = True
    ) -> tuple[JobState | None, bool]:
        """Watch a job (or refresh its name, tags and interval). Returns its state and whether it was new.

        ``announce_finished=False`` records a job that is already over when first seen without
        announcing it (discovery finding old jobs).
        """
        adapter_for(info.ref.service)  # KeyError for an unknown service, before anything is written
        now = time.time()
        new = self.store.upsert_job(
            JobState(info=info, source=source, interval=interval, added_at=now, next_poll_at=now), revive=True
        )
        watch = self._watches.get(info.key)
        if watch is not None:
            watch.state.info = info
            if interval is not None:
                watch.state.interval = interval
            return watch.state, new
        state = self.store.job(info.key)
        if state is not None and not state.done:
            self._register(state, due=now, announce_finished=announce_finished)
        return state, new

    def remove(self, key: str) -> bool:
        """Stop watching ``key``; its history stays. True when it was watched."""
        watch = self._watches.pop(key, None)
        removed = self.store.remove_job(key)
        if watch is not None:
            watch.state.done = True
            watch.state.done_reason = "removed"
        return removed or watch is not None

    def watched(self) -> list[JobState]:
        """Jobs currently polled."""
        return [w.state for w in self._watches.values()]

    def get(self, key: str) -> JobState | None:
        watch = self._watches.get(key)
        return watch.state if watch else self.store.job(key)

    def client_key(self, ref: JobRef) -> ClientKey:
        """The shared client a job (or a discovery rule) with ``ref``'s service, region and profile uses."""
        aws = self.settings.aws
        # The job's own region, else the one its ARN names (it can only be answered there), else the
        # service's, else the only one the service lives in (Device Farm), else [aws].
        region = (
            ref.region
            or arn_region(ref.params)
            or self.settings.service(ref.service).region
            or adapter_for(ref.service).default_region
            or aws.region
        )
        return ClientKey(ref.service, region, ref.profile or aws.profile, ref.endpoint_url or aws.endpoint_url)

    @property
    def pool(self) -> ClientPool:
        assert self._pool is not None, "the engine is not running"
        return self._pool

    def bucket(self, service: str, region: str | None) -> TokenBucket:
        """The token bucket of a (service, region) pair; discovery calls share it with polls."""
        return self._lane(service, region).bucket

    async def call(self, key: ClientKey, operation: str, kwargs: dict[str, Any]) -> Any:
        """One rate-limited, deadline-bounded AWS call through the shared client (raises on failure)."""
        lane = self._lane(key.service, key.region)
        await lane.bucket.acquire()
        async with self._limiter:
            return await self._call(key, operation, kwargs, lane.bucket)

    # -- registry --------------------------------------------------------------------------------

    def _load(self) -> None:
        """Sync config jobs into the store, then register every job still to watch."""
        now = time.time()
        keys = []
        for job in self.settings.jobs:
            info = job.info()
            keys.append(info.key)
            self.store.upsert_job(
                JobState(info=info, source="config", interval=job.interval, added_at=now, next_poll_at=now), revive=True
            )
        gone = self.store.retire_config_jobs(keys)
        if gone:
            log.info("registry.retired", jobs=gone, reason="no longer in the config file")
        for state in self.store.jobs(active_only=True):
            # After a restart poll soon, spread over a little while, to catch what changed meanwhile.
            spread = min(self._base(state), 5.0)
            due = min(state.next_poll_at or now, now + self.rng.uniform(0, spread))
            self._register(state, due=due)

    def _base(self, state: JobState) -> float:
        return state.interval or self.settings.base_interval(state.info.ref.service)

    def _register(self, state: JobState, *, due: float, announce_finished: bool = True) -> None:
        ref = state.info.ref
        adapter = adapter_for(ref.service)
        client = self.client_key(ref)
        base = self._base(state)
        cap = max(base, self.settings.max_interval(ref.service))
        watch = Watch(
            state=state,
            adapter=adapter,
            client=client,
            base=base,
            cap=cap,
            interval=base,
            announce_finished=announce_finished,
        )
        self._watches[state.key] = watch
        self._schedule(watch, due)

    def _lane(self, service: str, region: str | None) -> Lane:
        lane = self._lanes.get((service, region))
        if lane is None:
            lane = Lane(bucket=TokenBucket(self.settings.service(service).rate_limit))
            self._lanes[(service, region)] = lane
            if self._tg is not None:
                self._tg.start_soon(self._run_lane, (service, region))
        return lane

    def _schedule(self, watch: Watch, due: float) -> None:
        watch.seq += 1
        watch.state.next_poll_at = due
        lane = self._lane(watch.client.service, watch.client.region)
        heapq.heappush(lane.heap, (due, watch.seq, watch.state.key))
        if lane.heap[0][2] == watch.state.key:
            lane.wake.set()

    # -- the loop --------------------------------------------------------------------------------

    async def _run_lane(self, lane_key: tuple[str, str | None]) -> None:
        lane = self._lanes[lane_key]
        assert self._tg is not None
        while True:
            if not lane.heap:
                lane.wake = anyio.Event()
                await lane.wake.wait()
                continue
            due, seq, key = lane.heap[0]
            delay = due - time.time()
            if delay > 0:
                lane.wake = anyio.Event()
                with anyio.move_on_after(delay):
                    await lane.wake.wait()
                continue
            heapq.heappop(lane.heap)
            watch = self._watches.get(key)
            if watch is None or watch.seq != seq or watch.state.done:
                continue
            await lane.bucket.acquire()
            await self._limiter.acquire()
            self._tg.start_soon(self._poll, watch, lane.bucket)

    async def _call(self, key: ClientKey, operation: str, kwargs: dict[str, Any], bucket: TokenBucket) -> Any:
        client = await self.pool.client(key)
        started = time.perf_counter()
        try:
            with anyio.fail_after(self.settings.watcher.request_timeout):
                answer = await getattr(client, operation)(**kwargs)
        except Exception as exc:
            kind, _, _ = classify(exc)
            if kind is Failure.THROTTLED:
                bucket.throttled()
            raise
        finally:
            self.metrics.poll_latency.labels(key.service).observe(time.perf_counter() - started)
        bucket.succeeded()
        return answer

    async def _poll(self, watch: Watch, bucket: TokenBucket) -> None:
        service = watch.adapter.service
        try:
            try:
                answer = await self._call(
                    watch.client, watch.adapter.operation, watch.adapter.request(watch.state.info.ref.params), bucket
                )
            except Exception as exc:
                self._failed(watch, exc)
                return
            try:
                snapshot = watch.adapter.read(answer)
            except AnswerError as exc:
                self._failed(watch, exc, code="BadAnswer")
                return
            except Exception as exc:  # an adapter bug must not stop the loop: log it and treat as a bad answer
                log.error("adapter.crashed", service=service, job=watch.state.key, error=repr(exc)[:300])
                self._failed(watch, exc, code="BadAnswer")
                return
            self._answered(watch, snapshot)
        except StateError as exc:
            # The state file cannot be written (disk full, read-only): stopping beats spinning without state.
            log.error("state.unwritable", error=str(exc))
            self.fatal = exc
            self.stop()
        finally:
            self._limiter.release()

    def _answered(self, watch: Watch, snapshot: Snapshot) -> None:
        state, service = watch.state, watch.adapter.service
        now = time.time()
        now_dt = from_epoch(now)
        assert now_dt is not None
        self.calls_ok += 1
        self.metrics.polls.labels(service, "ok").inc()
        if snapshot.phase is Phase.UNKNOWN and (service, snapshot.status) not in self._unknown_seen:
            self._unknown_seen.add((service, snapshot.status))
            log.warning(
                "status.unknown",
                service=service,
                job=state.key,
                status=snapshot.status,
                hint="a status value jobwatch does not know yet; reported as phase 'unknown'",
            )
        previous = state.snapshot
        events = diff(state.key, service, previous, snapshot, now_dt)
        if previous is None and snapshot.terminal and watch.announce_finished:
            # Watched only after it ended: the baseline alone would go unannounced, yet the user asked about it.
            events.append(
                Event(
                    EventKind.PHASE,
                    state.key,
                    service,
                    now_dt,
                    None,
                    snapshot.phase.value,
                    f"{state.info.display_name}: already {snapshot.phase.value} ({snapshot.status})",
                )
            )
        dirty = bool(events) or state.failures > 0 or state.missing > 0
        state.failures = 0
        state.missing = 0
        state.last_error = None
        if events:
            state.last_change_at = now
            state.stuck_notified = False
            watch.interval = watch.base
        else:
            watch.interval = min(watch.cap, watch.interval * self.settings.watcher.stretch)
            stuck = self._stuck_event(state, snapshot, now, now_dt)
            if stuck is not None:
                events.append(stuck)
                dirty = True
        state.snapshot = snapshot
        state.last_poll_at = now
        if snapshot.terminal:
            state.done, state.done_reason = True, "terminal"
            dirty = True
        next_at = now + self._jittered(watch.interval)
        state.next_poll_at = None if state.done else next_at
        if dirty:
            self._commit(watch, events, now)
        else:
            self._touches.append((state.key, now, next_at))
        if state.done:
            self._watches.pop(state.key, None)
        else:
            self._schedule(watch, next_at)

    def _stuck_event(self, state: JobState, snapshot: Snapshot, now: float, now_dt: datetime) -> Event | None:
        """One STUCK event when nothing changed for ``stuck_after``, or the job ran past its own time limit."""
        if snapshot.terminal or state.stuck_notified or state.last_change_at is None:
            return None
        limit = self.settings.watcher.stuck_after
        service = state.info.ref.service
        own = snapshot.info.get("max_runtime_s")
        started = snapshot.started_at
        # The service stops such a job itself; still running well past its limit means something is wrong.
        if (
            isinstance(own, int)
            and own > 0
            and started is not None
            and snapshot.phase is Phase.RUNNING
            and now_dt - started > timedelta(seconds=own * OVERRUN_FACTOR + min(OVERRUN_GRACE, own / 2))
        ):
            state.stuck_notified = True
            return stuck_event(state.key, service, snapshot, started, now_dt, limit=own)
        if limit <= 0 or now - state.last_change_at < limit:
            return None
        state.stuck_notified = True
        since = from_epoch(state.last_change_at)
        assert since is not None
        return stuck_event(state.key, service, snapshot, since, now_dt)

    def _failed(self, watch: Watch, exc: BaseException, code: str | None = None) -> None:
        state, service = watch.state, watch.adapter.service
        kind, err_code, message = classify(exc)
        if code is not None:
            kind, err_code, message = Failure.TRANSIENT, code, str(exc)[:500]
        now = time.time()
        now_dt = from_epoch(now)
        assert now_dt is not None
        self.metrics.polls.labels(service, kind.value).inc()
        if kind is Failure.THROTTLED:
            self.metrics.throttles.labels(service).inc()
        else:
            self.metrics.errors.labels(service, err_code).inc()
        events: list[Event] = []
        state.last_poll_at = now
        state.last_error = f"{err_code}: {message}" if message else err_code
        if kind is Failure.NOT_FOUND:
            state.missing += 1
            if state.missing >= NOT_FOUND_CONFIRMATIONS:
                events.append(vanished_event(state.key, service, state.snapshot, now_dt))
                state.done, state.done_reason = True, "vanished"
                delay = 0.0
            else:
                delay = min(watch.base, 5.0)  # confirm once more, soon
        else:
            state.failures += 1
            if state.failures == self.settings.watcher.error_after and kind is not Failure.THROTTLED:
                events.append(error_event(state.key, service, err_code, message, now_dt))
            ceiling = min(self.settings.watcher.error_backoff_cap, watch.base * 2 ** min(state.failures, 16))
            delay = max(0.5, self.rng.uniform(0, ceiling))  # full jitter
        log.warning(
            "poll.failed",
            service=service,
            job=state.key,
            kind=kind.value,
            code=err_code,
            failures=state.failures,
            missing=state.missing,
            retry_in=round(delay, 2),
        )
        state.next_poll_at = None if state.done else now + delay
        self._commit(watch, events, now)
        if state.done:
            self._watches.pop(state.key, None)
        else:
            self._schedule(watch, now + delay)

    def _commit(self, watch: Watch, events: list[Event], now: float) -> None:
        route = self.notifier.route if self.notifier is not None else None
        owed = self.store.commit_poll(watch.state, events, route, now)
        for event in events:
            self.metrics.events.labels(watch.adapter.service, event.kind.value).inc()
            if event.kind is not EventKind.WATCHING:
                log.info(
                    "job.transition",
                    service=watch.adapter.service,
                    job=watch.state.key,
                    name=watch.state.info.name,
                    kind=event.kind.value,
                    old=event.old,
                    new=event.new,
                    summary=event.summary,
                )
        if owed and self.notifier is not None:
            self.notifier.wake()
        if events:
            for listener in self.listeners:
                listener(watch.state, events)

    def _jittered(self, interval: float) -> float:
        return interval * self.rng.uniform(0.9, 1.1)

    async def _flush_loop(self) -> None:
        while True:
            await anyio.sleep(FLUSH_EVERY)
            try:
                self._flush()
            except StateError as exc:
                log.error("state.unwritable", error=str(exc))
                self.fatal = exc
                self.stop()
                return

    async def _prune_loop(self) -> None:
        """Forget history past the retention period, at start and then hourly (small, quick deletes)."""
        while True:
            try:
                events, jobs = self.store.prune(time.time() - self.settings.watcher.retention)
            except StateError as exc:
                log.error("state.unwritable", error=str(exc))
                self.fatal = exc
                self.stop()
                return
            if events or jobs:
                log.info("state.pruned", events=events, jobs=jobs, retention_s=self.settings.watcher.retention)
            await anyio.sleep(PRUNE_EVERY)

    def _flush(self) -> None:
        if self._touches:
            batch, self._touches = self._touches, []
            self.store.touch_polls(batch)
