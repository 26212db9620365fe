"""Small frozen types shared by every part of jobwatch: JobRef, Snapshot, Phase, Event.

Everything here is plain data: no I/O, no clocks. Snapshots and events serialise to JSON-ready
dicts (``to_dict``/``from_dict``) so the store keeps them as text and the API can answer with them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SERVICES: tuple[str, ...] = ("devicefarm", "deadline", "amplify", "iot", "braket")


class Phase(enum.StrEnum):
    """The common life stage of a job, whatever its service calls it."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_PHASES


TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED})


class EventKind(enum.StrEnum):
    """What an event says happened. The routing rules match on these names."""

    WATCHING = "watching"  # baseline: first successful poll of a job
    PHASE = "phase"  # common phase changed (queued -> running, running -> failed, ...)
    STATUS = "status"  # raw status changed without a phase change
    RESULT = "result"  # raw result changed (Device Farm result, Deadline lifecycle status, ...)
    PROGRESS = "progress"  # counters / queue position moved
    STEP_FAILED = "step_failed"  # a step (Amplify) turned FAILED
    JOB_EVENT = "job_event"  # the service reported a new event in the job's event list (Braket)
    STUCK = "stuck"  # no change for longer than stuck_after
    VANISHED = "vanished"  # not found twice in a row
    ERROR = "error"  # polling keeps failing (access denied, validation, ...)


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (the only clock form jobwatch stores or compares)."""
    return datetime.now(UTC)


def to_utc(value: datetime | None) -> datetime | None:
    """Normalise a timestamp (botocore returns local-time aware datetimes) to aware UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def arn_region(params: Mapping[str, Any]) -> str | None:
    """The region an ARN among a job's identity names (a Braket job in us-west-1 lives there)."""
    for value in params.values():
        parts = str(value).split(":", 5)
        if len(parts) == 6 and parts[0] == "arn" and parts[3]:
            return parts[3]
    return None


@dataclass(frozen=True, slots=True)
class JobRef:
    """Which job: a service plus the identity parameters of its get/describe call.

    ``params`` holds exactly the keyword arguments the service's read call takes to name the job
    (``{"jobArn": ...}`` for Braket, ``{"farmId", "queueId", "jobId"}`` for Deadline, ...). ``region``,
    ``profile`` and ``endpoint_url`` override the ``[aws]`` defaults for this one job.
    """

    service: str
    params: Mapping[str, str]
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None

    @property
    def key(self) -> str:
        """Stable, human-readable identity: ``service:value[/value...]`` in the service's identity order."""
        from watcher.services import adapter_for  # local import: services import model

        adapter = adapter_for(self.service)
        values = [str(self.params[name]) for name in adapter.identity]
        return f"{self.service}:{'/'.join(values)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "params": dict(self.params),
            "region": self.region,
            "profile": self.profile,
            "endpoint_url": self.endpoint_url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobRef:
        return cls(
            service=data["service"],
            params=dict(data["params"]),
            region=data.get("region"),
            profile=data.get("profile"),
            endpoint_url=data.get("endpoint_url"),
        )


@dataclass(frozen=True, slots=True)
class JobEventRecord:
    """One entry of a service's own event list for a job (Braket's ``events[]``)."""

    at: datetime | None
    type: str
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"at": _iso(self.at), "type": self.type, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobEventRecord:
        return cls(at=_from_iso(data.get("at")), type=data["type"], message=data.get("message"))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one poll saw, reduced to what jobwatch compares and reports.

    ``status`` is the service's primary raw status (Deadline: ``taskRunStatus``); ``result`` the secondary
    raw value where a service has one (Device Farm ``result``, Deadline ``lifecycleStatus``, IoT
    ``forceCanceled``/reason code, ...). ``counters`` are progress counts by name, ``steps`` step name to
    raw step status, ``events`` the service's event list, ``failure`` a human-readable failure detail.
    ``info`` carries display-only fields (description, commit message, log links, device name, ...):
    never diffed, only rendered (and always escaped: it is untrusted text).
    """

    phase: Phase
    status: str
    terminal: bool
    result: str | None = None
    name: str | None = None
    counters: Mapping[str, int] = field(default_factory=dict)
    steps: Mapping[str, str] = field(default_factory=dict)
    events: tuple[JobEventRecord, ...] = ()
    queue_position: str | None = None
    failure: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value,
            "status": self.status,
            "terminal": self.terminal,
            "result": self.result,
            "name": self.name,
            "counters": dict(self.counters),
            "steps": dict(self.steps),
            "events": [e.to_dict() for e in self.events],
            "queue_position": self.queue_position,
            "failure": self.failure,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        try:
            phase = Phase(data["phase"])
        except ValueError:
            phase = Phase.UNKNOWN
        return cls(
            phase=phase,
            status=data["status"],
            terminal=bool(data["terminal"]),
            result=data.get("result"),
            name=data.get("name"),
            counters=dict(data.get("counters") or {}),
            steps=dict(data.get("steps") or {}),
            events=tuple(JobEventRecord.from_dict(e) for e in data.get("events") or ()),
            queue_position=data.get("queue_position"),
            failure=data.get("failure"),
            created_at=_from_iso(data.get("created_at")),
            started_at=_from_iso(data.get("started_at")),
            ended_at=_from_iso(data.get("ended_at")),
            info=dict(data.get("info") or {}),
        )


@dataclass(frozen=True, slots=True)
class Event:
    """A transition the differ found (or a watcher-side condition: stuck, vanished, error).

    ``old``/``new`` hold the before and after value for phase, status and result events (``new`` is the
    new phase for PHASE events); ``detail`` holds kind-specific data: for PROGRESS ``{"moved": {name:
    [old, new]}}``, for STEP_FAILED ``{"step": name, "reason": ..., "log_url": ...}``, for JOB_EVENT
    ``{"type": ..., "message": ..., "at": ...}``, for ERROR ``{"error": code, "message": ...}``.
    ``summary`` is a short plain-text line for logs and the terminal.
    """

    kind: EventKind
    job_key: str
    service: str
    at: datetime
    old: str | None = None
    new: str | None = None
    summary: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "job_key": self.job_key,
            "service": self.service,
            "at": _iso(self.at),
            "old": self.old,
            "new": self.new,
            "summary": self.summary,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        at = _from_iso(data["at"])
        assert at is not None
        return cls(
            kind=EventKind(data["kind"]),
            job_key=data["job_key"],
            service=data["service"],
            at=at,
            old=data.get("old"),
            new=data.get("new"),
            summary=data.get("summary", ""),
            detail=dict(data.get("detail") or {}),
        )


@dataclass(frozen=True, slots=True)
class JobInfo:
    """A watched job as the router and templates see it: identity plus the user's name and tags.

    ``channels`` are extra channels this one job was asked to notify (set with the API's ``routes``);
    they add to whatever the routing rules choose.
    """

    ref: JobRef
    name: str | None = None
    tags: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.ref.key

    @property
    def display_name(self) -> str:
        """The user's name, else the key (never empty)."""
        return self.name or self.key

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref.to_dict(),
            "key": self.key,
            "name": self.name,
            "tags": list(self.tags),
            "channels": list(self.channels),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobInfo:
        return cls(
            ref=JobRef.from_dict(data["ref"]),
            name=data.get("name"),
            tags=tuple(data.get("tags") or ()),
            channels=tuple(data.get("channels") or ()),
        )
