"""Routing: which channels an event is owed to (rules in order, Alertmanager's ``continue``, the default route,
a job's own channels), minus the channels a mute silences right now. Pure apart from the clock.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from watcher.model import Event, EventKind, JobInfo
from watcher.notify.settings import DAYS, Match, MuteConfig, NotifySettings, RouteConfig, parse_window


def event_phase(event: Event) -> str | None:
    """The job's phase after the event, as far as the event tells it."""
    if event.kind in (EventKind.PHASE, EventKind.WATCHING, EventKind.STUCK):
        return event.new
    phase = event.detail.get("phase")
    return phase if isinstance(phase, str) else None


def event_status(event: Event) -> str | None:
    """The job's raw status after the event, as far as the event tells it."""
    if event.kind is EventKind.STATUS:
        return event.new
    status = event.detail.get("status")
    if isinstance(status, list | tuple) and status:  # phase events carry [old, new]
        status = status[-1]
    return status if isinstance(status, str) else None


def event_result(event: Event) -> str | None:
    """The job's raw result after the event, as far as the event tells it."""
    if event.kind is EventKind.RESULT:
        return event.new
    result = event.detail.get("result")
    return result if isinstance(result, str) else None


def _globs(patterns: Sequence[str], job: JobInfo) -> bool:
    names = {job.display_name, job.key}
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns for name in names)


def matches(when: Match, event: Event, job: JobInfo) -> bool:
    """Whether every given field of ``when`` matches (a rule without ``kind`` never takes the WATCHING baseline)."""
    if when.kind is not None:
        if event.kind.value not in when.kind:
            return False
    elif event.kind is EventKind.WATCHING:
        return False
    if when.service is not None and event.service not in when.service:
        return False
    if when.phase is not None and event_phase(event) not in when.phase:
        return False
    if when.status is not None:
        status = (event_status(event) or "").upper()
        if status not in {s.upper() for s in when.status}:
            return False
    if when.result is not None:
        result = (event_result(event) or "").upper()
        if result not in {r.upper() for r in when.result}:
            return False
    if when.job is not None and not _globs(when.job, job):
        return False
    return when.tags is None or set(when.tags) <= set(job.tags)


@dataclass(frozen=True, slots=True)
class Mute:
    """A mute rule made ready to test: its matcher, channels and time window."""

    config: MuteConfig
    window: tuple[time, time] | None
    zone: ZoneInfo | None

    @classmethod
    def of(cls, config: MuteConfig) -> Mute:
        window = parse_window(config.between) if config.between else None
        zone = ZoneInfo(config.timezone) if config.timezone else None
        return cls(config, window, zone)

    def silences(self, event: Event, job: JobInfo) -> bool:
        """Whether the event and job match the mute (time aside)."""
        c = self.config
        if c.service is not None and event.service not in c.service:
            return False
        if c.kind is not None and event.kind.value not in c.kind:
            return False
        if c.job is not None and not _globs(c.job, job):
            return False
        return c.tags is None or set(c.tags) <= set(job.tags)

    def active(self, now: datetime) -> bool:
        """Whether the mute is in force at ``now`` (aware)."""
        local = now.astimezone(self.zone) if self.zone is not None else now.astimezone()
        c = self.config
        if c.start is not None and local < _aware(c.start, local):
            return False
        if c.end is not None and local >= _aware(c.end, local):
            return False
        if self.window is None:
            return True
        start, end = self.window
        clock = local.time().replace(tzinfo=None)
        days = set(c.days) if c.days else set(DAYS)
        today = DAYS[local.weekday()]
        yesterday = DAYS[(local - timedelta(days=1)).weekday()]
        if start < end:
            return start <= clock < end and today in days
        # over midnight: the evening part belongs to today's window, the morning part to yesterday's
        return (clock >= start and today in days) or (clock < end and yesterday in days)


def _aware(value: datetime, like: datetime) -> datetime:
    return value.replace(tzinfo=like.tzinfo) if value.tzinfo is None else value


@dataclass(frozen=True, slots=True)
class Owed:
    """One channel an event goes to and how often it repeats there (None: never)."""

    channel: str
    repeat_interval: float | None


class Router:
    """Chooses channels for events; the result is what :meth:`watcher.store.Store.commit_poll` writes."""

    def __init__(
        self,
        settings: NotifySettings,
        routes: Sequence[RouteConfig],
        mutes: Sequence[MuteConfig],
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.routes = list(routes)
        self.mutes = [Mute.of(m) for m in mutes]
        self.clock = clock
        self.default_kinds = frozenset(settings.default_kinds)

    def owed(self, event: Event, job: JobInfo, *, apply_mutes: bool = True) -> list[Owed]:
        """Every channel the event is owed to, in rule order, with its repeat interval; mutes applied."""
        chosen: dict[str, float | None] = {}

        def add(channel: str, interval: float | None) -> None:
            if channel not in chosen:
                chosen[channel] = interval
            elif interval is not None:
                known = chosen[channel]
                chosen[channel] = interval if known is None else min(known, interval)

        matched = False
        for route in self.routes:
            if not matches(route.when, event, job):
                continue
            matched = True
            interval = route.repeat_interval if route.repeat_interval is not None else self.settings.repeat_interval
            for channel in route.channels:
                add(channel, interval)
            if not route.continue_:
                break
        generic = event.kind is not EventKind.WATCHING and event.kind.value in self.default_kinds
        if not matched and generic:
            for channel in self.settings.default_channels:
                add(channel, self.settings.repeat_interval)
        if generic:
            for channel in job.channels:
                add(channel, self.settings.repeat_interval)
        if apply_mutes and chosen:
            muted = self.muted_channels(event, job)
            if muted is None:
                return []
            for channel in muted:
                chosen.pop(channel, None)
        return [Owed(channel, interval) for channel, interval in chosen.items()]

    def route(self, event: Event, job: JobInfo) -> list[str]:
        """The channels the event is owed to (see :meth:`owed`)."""
        return [o.channel for o in self.owed(event, job)]

    def muted_channels(self, event: Event, job: JobInfo) -> set[str] | None:
        """Channels silenced for this event now; None when every channel is."""
        if not self.mutes:
            return set()
        now = datetime.fromtimestamp(self.clock(), UTC)
        muted: set[str] = set()
        for mute in self.mutes:
            if mute.silences(event, job) and mute.active(now):
                if mute.config.channels is None:
                    return None
                muted.update(mute.config.channels)
        return muted

    def group_window(self, channel: str) -> float:
        """How long a channel collects messages into one digest (largest of its routes' windows)."""
        windows = [r.group_window for r in self.routes if r.group_window is not None and channel in r.channels]
        return max(windows) if windows else self.settings.group_window
