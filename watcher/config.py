"""The settings model: TOML file + ``JOBWATCH_*`` environment overrides, validated with pydantic.

Every mistake comes back as one :class:`~watcher.errors.ConfigError` naming the file, the field and
the problem, for example ``jobwatch.toml: jobs[2].jobArn: field required``. Defaults and field docs
live here only; the README's configuration reference is generated from this module.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from watcher.durations import Duration
from watcher.errors import ConfigError
from watcher.model import SERVICES, JobInfo, JobRef
from watcher.notify.settings import ChannelConfig, MuteConfig, NotifySettings, RouteConfig

DEFAULT_PATHS = ("jobwatch.toml", "/etc/jobwatch/jobwatch.toml")
ENV_PREFIX = "JOBWATCH_"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WatcherSettings(_Model):
    """How jobs are polled and where state is kept."""

    state: str = Field("jobwatch.db", description="SQLite state file (registry, snapshots, events, outbox).")
    poll_interval: Duration = Field(30.0, description="Base poll interval; stretches while nothing changes.")
    max_poll_interval: Duration = Field(300.0, description="Longest interval a quiet job stretches to.")
    stretch: float = Field(
        1.5, ge=1.0, le=10.0, description="Factor the interval grows by after a poll with no change."
    )
    retention: Duration = Field(
        30 * 86400.0,
        description="Keep events and ended jobs this long, then prune them; 0 keeps everything.",
    )
    stuck_after: Duration = Field(
        7200.0, description='No change for this long gives one "stuck" event; 0 turns it off.'
    )
    max_in_flight: int = Field(32, ge=1, le=1000, description="Most AWS requests in flight at once, all services.")
    request_timeout: Duration = Field(20.0, description="Deadline of one AWS call, retries included.")
    error_backoff_cap: Duration = Field(300.0, description="Longest wait between polls of a job whose polls fail.")
    error_after: int = Field(5, ge=1, description='Consecutive failed polls before one "error" event is sent.')
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Least severe level logged.")
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto: readable on a terminal, JSON lines otherwise."
    )

    @model_validator(mode="after")
    def _intervals(self) -> WatcherSettings:
        if self.poll_interval <= 0:
            raise ValueError("poll_interval must be more than 0")
        if self.max_poll_interval < self.poll_interval:
            raise ValueError("max_poll_interval must not be shorter than poll_interval")
        return self


class AwsSettings(_Model):
    """Where and as whom to call AWS. The SDK's own variables (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL,
    AWS_ENDPOINT_URL_<SERVICE>, web identity / container credentials) work unchanged."""

    region: str | None = Field(None, description="Default region (else AWS_REGION / the profile's).")
    profile: str | None = Field(None, description="Named profile (from ~/.aws/config) whose credentials are used.")
    role_arn: str | None = Field(
        None, description="Assume this IAM role (with the profile's or the default chain's credentials); refreshed."
    )
    external_id: str | None = Field(None, description="ExternalId for assuming role_arn, when the role asks for one.")
    endpoint_url: str | None = Field(None, description="Send every call here (the simulator, a VPC endpoint).")
    max_attempts: int = Field(1, ge=1, le=10, description="Attempts per call inside botocore; jobwatch retries itself.")
    max_pool_connections: int = Field(32, ge=1, le=1000, description="HTTP connections per client.")


class ServiceSettings(_Model):
    """Per-service limits and pace (``[services.braket]``)."""

    rate_limit: float = Field(5.0, gt=0, le=1000, description="Requests per second, per service and region.")
    poll_interval: Duration | None = Field(None, description="Base interval for this service's jobs.")
    max_poll_interval: Duration | None = Field(None, description="Cap for this service's jobs.")
    region: str | None = Field(None, description="Region for this service's jobs (Device Farm: us-west-2).")


class ApiSettings(_Model):
    """The local HTTP API: jobs, health and metrics."""

    enabled: bool = Field(True, description="Serve the API while `jobwatch run` runs.")
    listen: str = Field("127.0.0.1:8787", description="host:port; anything but loopback requires a token.")
    token: str | None = Field(None, description='Bearer token the API requires (e.g. "${JOBWATCH_API_TOKEN}").')

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"{value!r} is not host:port (for example 127.0.0.1:8787)")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1") or self.host.startswith("127.")

    @model_validator(mode="after")
    def _token_off_loopback(self) -> ApiSettings:
        if self.enabled and not self.loopback and not self.token:
            raise ValueError(f"listening on {self.host} (not loopback) requires a token; set api.token")
        return self


class _JobBase(BaseModel):
    """Fields a job and a discovery rule share; the service's own parameters are the extra keys."""

    model_config = ConfigDict(extra="allow", frozen=True)

    service: str = Field(description="devicefarm, deadline, amplify, iot or braket.")
    name: str | None = Field(None, description="Display name in messages (a rule: its label in logs).")
    tags: list[str] = Field(default_factory=list, description="Tags routes and mutes match on.")
    channels: list[str] = Field(default_factory=list, description="Channels that get every event of the job(s).")
    interval: Duration | None = Field(
        None, description="A job: its base poll interval. A rule: how often it lists (default 60s)."
    )
    region: str | None = Field(None, description="Region of the call (else the service's, then [aws].region).")
    profile: str | None = Field(None, description="AWS profile of the call (else [aws].profile).")
    endpoint_url: str | None = Field(None, description="Endpoint of the call (else [aws].endpoint_url).")

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        if value not in SERVICES:
            raise ValueError(f"unknown service {value!r}; expected one of {', '.join(SERVICES)}")
        return value

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class JobConfig(_JobBase):
    """A job to watch (``[[jobs]]``): ``service`` plus the read call's own identity parameters."""

    @model_validator(mode="after")
    def _identity(self) -> JobConfig:
        from watcher.services import adapter_for

        problems = adapter_for(self.service).check_params(self.params)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def info(self) -> JobInfo:
        ref = JobRef(
            self.service, {k: str(v) for k, v in self.params.items()}, self.region, self.profile, self.endpoint_url
        )
        return JobInfo(ref=ref, name=self.name, tags=tuple(self.tags), channels=tuple(self.channels))


class DiscoverConfig(_JobBase):
    """A discovery rule (``[[discover]]``): the service's list/search call and what to do with what it finds."""

    match: str | None = Field(None, description="Only jobs whose name matches this glob.")
    announce_terminal: bool = Field(False, description="Announce jobs that were already finished when found.")

    @model_validator(mode="after")
    def _rule(self) -> DiscoverConfig:
        from watcher.services import adapter_for

        discovery = adapter_for(self.service).discovery
        if discovery is None:
            raise ValueError(f"{self.service} has no list/search call to discover jobs with")
        given = set(self.params)
        missing = [name for name in discovery.required if name not in given]
        unknown = sorted(given - set(discovery.required) - set(discovery.optional))
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)} (required by {self.service} {discovery.operation})")
        if unknown:
            allowed = ", ".join((*discovery.required, *discovery.optional))
            problems.append(f"unknown key(s) {', '.join(unknown)}; {discovery.operation} takes {allowed}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Settings(_Model):
    """The whole configuration."""

    watcher: WatcherSettings = WatcherSettings()
    aws: AwsSettings = AwsSettings()
    services: dict[str, ServiceSettings] = Field(default_factory=dict)
    api: ApiSettings = ApiSettings()
    notify: NotifySettings = NotifySettings()
    channels: list[ChannelConfig] = Field(default_factory=list)
    routes: list[RouteConfig] = Field(default_factory=list)
    mutes: list[MuteConfig] = Field(default_factory=list)
    jobs: list[JobConfig] = Field(default_factory=list)
    discover: list[DiscoverConfig] = Field(default_factory=list)

    @field_validator("services")
    @classmethod
    def _known_services(cls, value: dict[str, ServiceSettings]) -> dict[str, ServiceSettings]:
        for name in value:
            if name not in SERVICES:
                raise ValueError(f"unknown service {name!r}; expected one of {', '.join(SERVICES)}")
        return value

    @model_validator(mode="after")
    def _unique(self) -> Settings:
        seen: dict[str, int] = {}
        for index, job in enumerate(self.jobs):
            key = job.info().key
            if key in seen:
                raise ValueError(f"jobs[{index}] watches the same job as jobs[{seen[key]}] ({key})")
            seen[key] = index
        names = [c.name for c in self.channels]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"channel name(s) used twice: {', '.join(duplicates)}")
        known = set(names)
        listing = ", ".join(names) or "(no [[channels]] defined)"
        uses = [(f"jobs[{i}].channels", job.channels) for i, job in enumerate(self.jobs)]
        uses += [(f"discover[{i}].channels", rule.channels) for i, rule in enumerate(self.discover)]
        uses += [(f"routes[{i}].channels", route.channels) for i, route in enumerate(self.routes)]
        uses += [("notify.default_channels", self.notify.default_channels)]
        for where, channels in uses:
            for channel in channels or ():
                if channel not in known:
                    raise ValueError(f"{where}: unknown channel {channel!r}; known: {listing}")
        return self

    def service(self, name: str) -> ServiceSettings:
        return self.services.get(name) or ServiceSettings()

    def base_interval(self, service: str) -> float:
        return self.service(service).poll_interval or self.watcher.poll_interval

    def max_interval(self, service: str) -> float:
        return max(
            self.service(service).max_poll_interval or self.watcher.max_poll_interval, self.base_interval(service)
        )


# -- loading -------------------------------------------------------------------------------------


def find_config(explicit: str | None) -> Path | None:
    """The config file to use: --config, then $JOBWATCH_CONFIG, then ./jobwatch.toml, then /etc/jobwatch/."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("JOBWATCH_CONFIG")
    if env:
        return Path(env)
    for candidate in DEFAULT_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def load_settings(path: str | Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read, expand and validate a config file (None: defaults plus environment). ConfigError on any problem."""
    env = os.environ if env is None else env
    where = str(path) if path is not None else "(no config file)"
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{where}: no such file") from None
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    _apply_env_overrides(raw, env, where)
    raw = _expand(raw, env, where, ())
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(where, exc)) from None
    return settings


def _apply_env_overrides(raw: dict[str, Any], env: Mapping[str, str], where: str) -> None:
    """``JOBWATCH_WATCHER__POLL_INTERVAL=10s`` sets ``watcher.poll_interval``; ``__`` separates levels."""
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        if not all(path) or path[0] not in Settings.model_fields:
            continue
        target = raw
        for part in path[:-1]:
            node = target.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(
                    f"{where}: environment variable {name} sets a key inside {part!r}, which is not a table"
                )
            target = node
        target[path[-1]] = _env_value(value)


def _env_value(value: str) -> Any:
    """An environment value read as a TOML value when it is one (5, true, [..]), else as a string."""
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _expand(value: Any, env: Mapping[str, str], where: str, loc: tuple[str | int, ...]) -> Any:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in every string; an unset variable is an error."""
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(f"{where}: {_loc(loc)}: environment variable {name} is not set")

        return _VAR.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, env, where, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, where, (*loc, i)) for i, v in enumerate(value)]
    return value


def _loc(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # a key from the file is quoted when it is empty or holds control characters (no raw escapes)
            name = str(part) if str(part).isprintable() and str(part) else repr(str(part))
            out += f".{name}" if out else name
    return out or "(top level)"


def _format_errors(where: str, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(
            p
            for p in error["loc"]
            if not (isinstance(p, str) and (p.startswith("function-") or p in ("function-after", "function-before")))
        )
        message = error["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(prefix)
        if error["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and the section it is in)"
        lines.append(f"{where}: {_loc(loc)}: {message}")
    return "\n".join(lines)


_SECRET_KEYS = ("token", "password", "secret")


def masked(settings: Settings) -> dict[str, Any]:
    """The effective config as a dict with secrets masked (apprise URLs keep only their scheme)."""
    data = settings.model_dump(mode="json", by_alias=True, exclude_none=True)
    for channel in data.get("channels", []):
        if channel.get("url"):
            scheme = str(channel["url"]).split("://", 1)[0]
            channel["url"] = f"{scheme}://***"
    api = data.get("api", {})
    for key in list(api):
        if any(s in key for s in _SECRET_KEYS):
            api[key] = "***"
    return data
