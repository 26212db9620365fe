"""Notification settings as the config spells them: ``[[channels]]``, ``[[routes]]``, ``[[mutes]]``, ``[notify]``.

Plain pydantic models that reject unknown keys. They check what can be checked without apprise or
Jinja2 (value sets, time windows, one of url/config); :meth:`watcher.notify.Notifier.problems` checks
the rest (apprise URLs, unknown channels, templates) without sending anything.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from watcher.durations import Duration
from watcher.model import SERVICES, EventKind, Phase

Format = Literal["text", "markdown", "html", "slack"]
"""How a channel's messages are written: plain text, CommonMark, HTML or Slack mrkdwn (sent as it is)."""

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KINDS = tuple(kind.value for kind in EventKind)
PHASES = tuple(phase.value for phase in Phase)
# what the default route (and a job's own channels) send when no rule matched: every kind but the
# baseline and progress, which would flood a chat channel with one message per poll
DEFAULT_KINDS = tuple(k for k in KINDS if k not in ("watching", "progress"))


def _listify(value: Any) -> Any:
    """``"braket"`` and ``["braket"]`` mean the same in a rule."""
    return [value] if isinstance(value, str) else value


StrList = Annotated[list[str], BeforeValidator(_listify)]


def _one_of(values: list[str] | None, known: tuple[str, ...], what: str) -> list[str] | None:
    if values is None:
        return None
    wrong = [v for v in values if v not in known]
    if wrong:
        raise ValueError(f"unknown {what} {', '.join(map(repr, wrong))}; known: {', '.join(known)}")
    return values


def expand_env(value: str) -> str:
    """Replace ``${VAR}`` with the environment's value; ValueError names a missing variable (never the value)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set (used as ${{{name}}})")
        return os.environ[name]

    return _ENV.sub(one, value)


class ChannelConfig(BaseModel):
    """One place messages go: an apprise URL (or an apprise config file) with a format and templates.

    ``url`` may hold ``${VAR}`` parts expanded from the environment when the config is read, so a webhook
    secret need not sit in the file. ``format`` None picks one from the URL (Slack mrkdwn for slack://,
    HTML for e-mail, Markdown for Mattermost/Discord/..., text otherwise). ``title`` and ``body`` are
    Jinja2 templates that replace the defaults; ``max_length`` cuts the body (default ``[notify].max_length``).
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    url: str | None = Field(default=None, repr=False)
    config: str | None = None
    format: Format | None = None
    title: str | None = None
    body: str | None = None
    max_length: int | None = Field(default=None, ge=200)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError("a channel name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = expand_env(value).strip()
        if not value:
            raise ValueError("the URL is empty")
        return value

    @field_validator("config")
    @classmethod
    def _config(cls, value: str | None) -> str | None:
        return None if value is None else os.path.expanduser(expand_env(value))

    @model_validator(mode="after")
    def _one_source(self) -> ChannelConfig:
        if (self.url is None) == (self.config is None):
            raise ValueError("give exactly one of url (an apprise URL) or config (an apprise config file)")
        return self


class Match(BaseModel):
    """What a route (or mute) matches; every given field must match, an empty one matches anything.

    ``phase``/``status``/``result`` are the job's values after the event; ``status`` compares raw
    statuses case-insensitively; ``job`` holds globs tried against the job's name and its key;
    ``tags`` lists tags the job must all carry.
    """

    model_config = ConfigDict(extra="forbid")

    service: StrList | None = None
    phase: StrList | None = None
    status: StrList | None = None
    result: StrList | None = None
    kind: StrList | None = None
    job: StrList | None = None
    tags: StrList | None = None

    @field_validator("service")
    @classmethod
    def _service(cls, value: list[str] | None) -> list[str] | None:
        return _one_of(value, SERVICES, "service")

    @field_validator("phase")
    @classmethod
    def _phase(cls, value: list[str] | None) -> list[str] | None:
        return _one_of(value, PHASES, "phase")

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: list[str] | None) -> list[str] | None:
        return _one_of(value, KINDS, "event kind")


class RouteConfig(BaseModel):
    """A routing rule: events matching ``when`` go to ``channels``.

    Rules are tried in order and the first match stops, unless it says ``continue = true``
    (Alertmanager's semantics). ``repeat_interval`` re-sends a stuck or failed job's notice until it is
    acknowledged or the job moves on; ``group_window`` collects this route's channels' messages into a
    digest (a channel's window is the largest of the routes naming it).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    channels: StrList
    when: Match = Field(default_factory=Match)
    continue_: bool = Field(default=False, alias="continue")
    repeat_interval: Duration | None = None
    group_window: Duration | None = None

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a route needs at least one channel")
        return value


class MuteConfig(BaseModel):
    """Silence matching events (they stay in the history, nothing is sent).

    Matches like a route's ``when`` (``service``, ``job`` globs, ``kind``, ``tags``), optionally only for
    some ``channels``. Active during ``between = "22:00-07:00"`` on ``days`` (the day the window starts)
    in ``timezone`` (default: the host's), and/or from ``start`` to ``end``; always when neither is given.
    """

    model_config = ConfigDict(extra="forbid")

    service: StrList | None = None
    job: StrList | None = None
    kind: StrList | None = None
    tags: StrList | None = None
    channels: StrList | None = None
    between: str | None = None
    days: StrList | None = None
    timezone: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    comment: str | None = None

    @field_validator("service")
    @classmethod
    def _service(cls, value: list[str] | None) -> list[str] | None:
        return _one_of(value, SERVICES, "service")

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: list[str] | None) -> list[str] | None:
        return _one_of(value, KINDS, "event kind")

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        return _one_of([d.strip().lower()[:3] for d in value], DAYS, "day")

    @field_validator("between")
    @classmethod
    def _between(cls, value: str | None) -> str | None:
        if value is not None:
            parse_window(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}; write an IANA name such as 'Europe/Berlin'") from None
        return value

    @model_validator(mode="after")
    def _range(self) -> MuteConfig:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        if self.days is not None and self.between is None:
            raise ValueError("days needs a between window (for example between = '00:00-23:59')")
        return self


def parse_window(value: str) -> tuple[time, time]:
    """``"22:00-07:00"`` -> (22:00, 07:00); ValueError saying the accepted form."""
    match = _WINDOW.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a time window; write for example '22:00-07:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{value!r} has an hour or minute out of range")
    if (h1, m1) == (h2, m2):
        raise ValueError(f"{value!r} is empty; start and end must differ")
    end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
    return time(h1, m1), end


class NotifySettings(BaseModel):
    """The ``[notify]`` table: delivery policy shared by every channel."""

    model_config = ConfigDict(extra="forbid")

    max_age: Duration = 86400.0
    """A notification not delivered within this time is given up (marked expired)."""
    repeat_interval: Duration | None = None
    """Re-send a stuck or failed job's notice this often until acknowledged (a route may set its own)."""
    group_window: Duration = 0.0
    """Collect each channel's messages for this long and send one digest; 0 sends each at once."""
    default_channels: StrList = Field(default_factory=list)
    """Where events go that no route matched (the default route)."""
    default_kinds: StrList = Field(default_factory=lambda: list(DEFAULT_KINDS))
    """Which event kinds the default route and a job's own channels send."""
    retry_base: Duration = 5.0
    """First retry after a failed send waits up to this long (full jitter), doubling per attempt..."""
    retry_cap: Duration = 600.0
    """...up to this long."""
    send_timeout: Duration = 30.0
    """One send to one channel may take this long before it counts as failed."""
    max_length: int = Field(default=4000, ge=200)
    """Longest message body in characters (a channel's max_length overrides it)."""
    field_max_length: int = Field(default=500, ge=20)
    """Longest untrusted value (job name, failure reason, description, ...) quoted in a message."""
    digest_max: int = Field(default=50, ge=2)
    """Most events in one digest message."""

    @field_validator("default_kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        checked = _one_of(value, KINDS, "event kind")
        assert checked is not None
        return checked

    @model_validator(mode="after")
    def _retry(self) -> NotifySettings:
        if self.retry_base <= 0:
            raise ValueError("retry_base must be more than 0")
        if self.retry_cap < self.retry_base:
            raise ValueError("retry_cap must be at least retry_base")
        if self.send_timeout <= 0:
            raise ValueError("send_timeout must be more than 0")
        return self
