"""The dispatcher: sends due outbox rows through apprise, channel by channel, and records each outcome.

A row is marked sent only after apprise reports success. A failed row is retried with exponential backoff
and full jitter until ``max_age``, then marked expired. Channels are served concurrently, so one channel's
outage never holds back another; within a channel a job's rows go in order (the store hands out a row only
when every earlier row of the same channel and job is done or due with it). A channel with a group window
collects its rows for that long and sends one digest.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog

from watcher.durations import format_duration
from watcher.errors import StateError
from watcher.notify.channels import Channel
from watcher.notify.render import Message, context, render, render_digest
from watcher.notify.routing import Router
from watcher.notify.settings import NotifySettings
from watcher.store import Delivery, Store

log = structlog.get_logger(__name__)

ResultHook = Callable[[str, str, int, float | None], None]
"""Called per outcome: (channel, outcome: sent|failed|expired, rows, seconds from queued to sent or None)."""

# after this many failed sends in a row, a channel counts as down for the round: its untried rows wait
# for the earliest retry instead of each paying a timeout (a single poisoned message does not stop it)
_DOWN_AFTER = 2


class Dispatcher:
    """Sends what the outbox owes; one instance per running notifier."""

    def __init__(
        self,
        settings: NotifySettings,
        channels: Mapping[str, Channel],
        router: Router,
        *,
        hostname: str,
        clock: Callable[[], float],
        rng: random.Random,
        default_region: str | None = None,
        on_result: ResultHook | None = None,
        batch: int = 200,
    ) -> None:
        self.settings = settings
        self.channels = channels
        self.router = router
        self.hostname = hostname
        self.clock = clock
        self.rng = rng
        self.default_region = default_region
        self.on_result = on_result
        self.batch = batch
        self.stats: Counter[tuple[str, str]] = Counter()
        self._holds: dict[str, float] = {}  # channel -> when its digest is due
        self.busy: set[str] = set()  # channels with a send in progress
        self.claimed = 0  # rows taken by the last claim

    # -- one pass over what is due -------------------------------------------------------------------

    def claim(self, store: Store, now: float, *, flush: bool = False) -> dict[str, list[Delivery]]:
        """Take the rows that can be sent now, by channel, marking each channel busy until :meth:`serve` ends.

        Busy channels are skipped, so a channel never has two sends of the same job in flight and a slow
        channel only delays itself. Rows past ``max_age`` are expired here. ``flush`` also takes rows held
        for a digest or behind an outage.
        """
        rows = store.dispatchable(now, self.batch, flush=flush, skip=self.busy)
        fresh: dict[str, list[Delivery]] = defaultdict(list)
        stale: list[Delivery] = []
        for row in rows:
            (stale if now - row.created_at > self.settings.max_age else fresh[row.channel]).append(row)
        if stale:
            self._expire(store, stale, f"not delivered within max_age {format_duration(self.settings.max_age)}")
        self.busy.update(fresh)
        self.claimed = len(rows)
        return dict(fresh)

    async def serve(
        self, store: Store, name: str, rows: list[Delivery], now: float, flush: bool, done: Callable[[], None]
    ) -> None:
        """Send one channel's claimed rows, then free the channel and call ``done`` (to look for more)."""
        try:
            await self._channel_round(store, name, rows, now, flush)
        except Exception as exc:  # a state-file error or a bug must not end the dispatcher (nor the daemon)
            log.error("notify.channel_failed", channel=name, error=f"{type(exc).__name__}: {exc}", exc_info=True)
            with contextlib.suppress(StateError):  # rows not marked are retried later, not in a tight loop
                store.defer([row.id for row in rows], self.clock() + self.settings.retry_base)
        finally:
            self.busy.discard(name)
            done()

    async def _channel_round(self, store: Store, name: str, rows: list[Delivery], now: float, flush: bool) -> None:
        channel = self.channels.get(name)
        if channel is None:
            self._expire(store, rows, f"channel {name!r} is not configured")
            return
        window = self.router.group_window(name)
        if window > 0 and not flush:
            ready = self._holds.get(name)
            if ready is None or ready < now - window:  # no digest collecting (or a stale mark): start one
                ready = min(row.created_at for row in rows) + window
            if now < ready:
                self._holds[name] = ready
                store.defer([row.id for row in rows], ready)
                return
        self._holds.pop(name, None)
        if window > 0 and len(rows) > 1:
            limit = self.settings.digest_max
            for start in range(0, len(rows), limit):
                await self._send_digest(store, channel, rows[start : start + limit])
            return
        await self._send_each(store, channel, rows)

    async def _send_each(self, store: Store, channel: Channel, rows: list[Delivery]) -> None:
        failed_jobs: dict[str, float] = {}  # job -> its failed row's retry time: later rows wait for it
        failures_in_a_row = 0
        for index, row in enumerate(rows):
            job = row.event.job_key
            if job in failed_jobs:
                store.defer([row.id], failed_jobs[job])
                continue
            if failures_in_a_row >= _DOWN_AFTER and failed_jobs:
                self._defer_rest(store, rows[index:], failed_jobs)
                return
            message = self._message(store, channel, row)
            if message is None:
                continue
            error = await channel.send(message, self.settings.send_timeout)
            if error is None:
                failures_in_a_row = 0
                self._sent(store, channel, [row])
                continue
            failures_in_a_row += 1
            retry_at = self._failed(store, channel, [row], error)
            if retry_at is not None:
                failed_jobs[job] = retry_at

    @staticmethod
    def _defer_rest(store: Store, rows: Sequence[Delivery], failed_jobs: Mapping[str, float]) -> None:
        """The channel looks down: untried rows wait for the earliest retry (a failed job's rows for its own)."""
        earliest = min(failed_jobs.values())
        until: dict[float, list[int]] = defaultdict(list)
        for row in rows:
            until[failed_jobs.get(row.event.job_key, earliest)].append(row.id)
        for when, ids in until.items():
            store.defer(ids, when)

    async def _send_digest(self, store: Store, channel: Channel, rows: list[Delivery]) -> None:
        if len(rows) == 1:
            await self._send_each(store, channel, rows)
            return
        items = [self._fields(row) for row in rows]
        message = render_digest(items, channel.style, hostname=self.hostname)
        error = await channel.send(message, self.settings.send_timeout)
        if error is None:
            self._sent(store, channel, rows, digest=True)
        else:
            self._failed(store, channel, rows, error)

    # -- outcomes --------------------------------------------------------------------------------------

    def _fields(self, row: Delivery) -> dict[str, Any]:
        return context(
            row.event,
            row.job,
            row.snapshot,
            hostname=self.hostname,
            repeat=row.repeat,
            field_max_length=self.settings.field_max_length,
            default_region=self.default_region,
        )

    def _message(self, store: Store, channel: Channel, row: Delivery) -> Message | None:
        try:
            return render(self._fields(row), channel.style)
        except Exception as exc:  # a row that cannot be rendered would block its job's later rows forever
            self._expire(store, [row], f"cannot render: {type(exc).__name__}: {exc}"[:300])
            return None

    def _sent(self, store: Store, channel: Channel, rows: Sequence[Delivery], *, digest: bool = False) -> None:
        now = self.clock()
        store.mark_sent([row.id for row in rows], now)
        self._count(channel.name, "sent", rows, now)
        for row in rows:
            log.info(
                "notify.sent",
                channel=channel.name,
                service=row.event.service,
                job=row.event.job_key,
                kind=row.event.kind.value,
                event_id=row.event_id,
                attempts=row.attempts + 1,
                repeat=row.repeat,
                digest=digest,
            )

    def _failed(self, store: Store, channel: Channel, rows: Sequence[Delivery], error: str) -> float | None:
        """Schedule a retry (returned) or expire rows past max_age (None)."""
        now = self.clock()
        attempts = max(row.attempts for row in rows) + 1
        delay = self.rng.uniform(0, min(self.settings.retry_cap, self.settings.retry_base * 2 ** (attempts - 1)))
        retry_at = now + delay
        deadline = min(row.created_at for row in rows) + self.settings.max_age
        self._count(channel.name, "failed", rows, None)
        if retry_at > deadline:
            self._expire(store, rows, f"gave up after {attempts} attempts: {error}")
            return None
        store.mark_retry([row.id for row in rows], retry_at, error)
        for row in rows:
            log.warning(
                "notify.retry",
                channel=channel.name,
                service=row.event.service,
                job=row.event.job_key,
                event_id=row.event_id,
                attempts=attempts,
                retry_in=round(delay, 3),
                error=error,
            )
        return retry_at

    def _expire(self, store: Store, rows: Sequence[Delivery], reason: str) -> None:
        store.mark_expired([row.id for row in rows], reason)
        by_channel: dict[str, list[Delivery]] = defaultdict(list)
        for row in rows:
            by_channel[row.channel].append(row)
            log.error(
                "notify.expired",
                channel=row.channel,
                service=row.event.service,
                job=row.event.job_key,
                event_id=row.event_id,
                error=reason,
            )
        for name, items in by_channel.items():
            self._count(name, "expired", items, None)

    def _count(self, channel: str, outcome: str, rows: Sequence[Delivery], now: float | None) -> None:
        self.stats[(channel, outcome)] += len(rows)
        if self.on_result is not None:
            latency = None if now is None else max(0.0, now - min(row.created_at for row in rows))
            self.on_result(channel, outcome, len(rows), latency)
