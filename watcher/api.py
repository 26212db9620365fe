"""The local HTTP API (aiohttp): watch and unwatch jobs, list them, health, readiness and metrics.

It listens on ``api.listen`` (127.0.0.1:8787 by default) inside the engine's task group. Off loopback
every route but ``/healthz`` needs ``Authorization: Bearer <api.token>``; with a token configured on
loopback too. Errors are JSON ``{"error": ..., "field": ...}`` naming the field at fault, and a job is
only added after its whole request was validated, so nothing is ever half-added.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import anyio
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from watcher.apiclient import http_url
from watcher.config import Settings
from watcher.durations import parse_duration
from watcher.engine import Engine
from watcher.errors import JobwatchError
from watcher.metrics import Metrics
from watcher.model import SERVICES, JobInfo, JobRef, arn_region
from watcher.services import adapter_for

log = structlog.get_logger(__name__)

HISTORY_LIMIT = 50  # events returned by GET /jobs/{key}
MAX_BODY = 64 * 1024  # a job request is a few hundred bytes
_JOB_FIELDS = ("service", "params", "name", "tags", "interval", "routes", "channels", "region")
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(Exception):
    """A request the API refuses; ``field`` names the part of the request at fault."""

    def __init__(self, field: str | None, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


def error(status: int, message: str, field: str | None = None) -> web.Response:
    """A JSON error answer."""
    return web.json_response({"error": message, "field": field}, status=status)


# -- request validation --------------------------------------------------------------------------


def parse_job_request(body: Any, settings: Settings) -> tuple[JobInfo, float | None]:
    """The job and per-job interval a ``POST /jobs`` body asks for; BadRequest names the first bad field."""
    if not isinstance(body, dict):
        raise BadRequest(None, 'the body must be a JSON object such as {"service": ..., "params": {...}}')
    unknown = sorted(set(body) - set(_JOB_FIELDS))
    if unknown:
        raise BadRequest(unknown[0], f"unknown field {unknown[0]!r}; accepted: {', '.join(_JOB_FIELDS)}")
    service = body.get("service")
    if not isinstance(service, str) or not service:
        raise BadRequest("service", f"field 'service' is required: one of {', '.join(SERVICES)}")
    if service not in SERVICES:
        raise BadRequest("service", f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    params = body.get("params")
    if not isinstance(params, dict) or not params:
        raise BadRequest(
            "params", "field 'params' is required: an object of the job's identity, e.g. {\"jobArn\": ...}"
        )
    adapter = adapter_for(service)
    problems = adapter.check_params(params)
    if problems:
        raise BadRequest(_param_field(problems[0], params, adapter.identity), "; ".join(problems))
    name = _optional_text(body, "name", 256)
    region = _optional_text(body, "region", 64)
    tags = _text_list(body, "tags")
    channels = _text_list(body, "routes") + _text_list(body, "channels")
    known = {channel.name for channel in settings.channels}
    for channel in channels:
        if channel not in known:
            where = "routes" if channel in _text_list(body, "routes") else "channels"
            raise BadRequest(where, f"unknown channel {channel!r}; configured: {', '.join(sorted(known)) or '(none)'}")
    interval = _interval(body.get("interval"))
    ref = JobRef(service, {key: str(value) for key, value in params.items()}, region or arn_region(params))
    info = JobInfo(ref=ref, name=name, tags=tuple(dict.fromkeys(tags)), channels=tuple(dict.fromkeys(channels)))
    return info, interval


def _param_field(problem: str, params: dict[str, Any], identity: tuple[str, ...]) -> str:
    """``params.<name>`` for the identity field a problem message quotes, else ``params``."""
    for name in (*identity, *params):
        if f"{name!r}" in problem:
            return f"params.{name}"
    return "params"


def _optional_text(body: dict[str, Any], field: str, limit: int) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(field, f"field {field!r} must be a non-empty string")
    if len(value) > limit:
        raise BadRequest(field, f"field {field!r} is longer than {limit} characters")
    return value


def _text_list(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise BadRequest(field, f"field {field!r} must be a list of non-empty strings")
    return list(value)


def _interval(value: Any) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest("interval", f"field 'interval': {exc}") from None
    if seconds <= 0:
        raise BadRequest("interval", "field 'interval' must be more than 0 seconds")
    return seconds


# -- the application -----------------------------------------------------------------------------


class Api:
    """The handlers, bound to one engine."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def app(self) -> web.Application:
        """The aiohttp application with its routes and the token and origin checks."""
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_BODY)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/jobs", self.list_jobs)
        app.router.add_post("/jobs", self.add_job)
        # ``.+``: keys hold ``/`` (Deadline farm/queue/job); aiohttp matches before it decodes %2F
        app.router.add_post("/jobs/{key:.+}/ack", self.ack_job)
        app.router.add_get("/jobs/{key:.+}", self.get_job)
        app.router.add_delete("/jobs/{key:.+}", self.delete_job)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        api = self.settings.api
        if api.loopback and not _loopback_host(request.host):
            # a loopback API answers only loopback names: a DNS-rebinding page cannot reach it
            return error(421, "this API answers only requests addressed to a loopback host")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            # browsers send Origin on cross-site requests; a web page must not drive the daemon
            return error(403, "cross-origin requests are refused")
        if api.token and request.path != "/healthz" and not _token_ok(request, api.token):
            return web.json_response(
                {"error": "missing or wrong bearer token (Authorization: Bearer ...)", "field": None},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="jobwatch"'},
            )
        try:
            return await handler(request)
        except BadRequest as exc:
            return error(exc.status, exc.message, exc.field)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            # unknown path, wrong method, body too large: JSON like every other error here
            return error(exc.status, exc.reason)
        except JobwatchError as exc:
            log.error("api.failed", path=request.path, error=str(exc))
            return error(503, str(exc))

    async def healthz(self, request: web.Request) -> web.Response:
        """Alive: the loop answers."""
        return web.json_response({"status": "ok", "app": "jobwatch", "jobs": len(self.engine.watched())})

    async def readyz(self, request: web.Request) -> web.Response:
        """Ready: the engine runs, the state store answers, and AWS answered (or there is nothing to poll)."""
        checks = {"engine": self.engine.ready.is_set(), "store": _store_ok(self.engine)}
        aws_ok, aws_reason = self._aws_reachable()
        checks["aws"] = aws_ok
        ready = all(checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks, "aws": aws_reason}
        return web.json_response(body, status=200 if ready else 503)

    def _aws_reachable(self) -> tuple[bool, str]:
        watched = self.engine.watched()
        if not watched:
            return True, "no jobs to poll yet"
        since = self.engine.started_at
        polled = [s for s in watched if s.last_poll_at is not None and s.last_poll_at >= since]
        if any(s.failures == 0 for s in polled):
            return True, "AWS answered"
        if not polled:
            if self.engine.calls_ok > 0:
                return True, "AWS answered"
            return False, "waiting for the first answer from AWS"
        last = polled[-1].last_error or "unknown error"
        return False, f"every job's last poll failed (last: {last.split(':', 1)[0]})"

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text exposition."""
        text = self.engine.metrics.render(self._refresh)
        return web.Response(body=text, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def _refresh(self, metrics: Metrics) -> None:
        counts = Counter(
            (s.info.ref.service, s.snapshot.phase.value if s.snapshot else "pending") for s in self.engine.watched()
        )
        metrics.jobs.clear()
        for (service, phase), count in counts.items():
            metrics.jobs.labels(service, phase).set(count)
        metrics.outbox.set(self.engine.store.outbox_depth())
        metrics.up.set(self.engine.started_at)

    async def list_jobs(self, request: web.Request) -> web.Response:
        """Watched jobs; ``?all=1`` adds finished and removed ones from the store."""
        watched = {state.key: state for state in self.engine.watched()}
        if request.query.get("all", "") not in ("", "0", "false"):
            rows = [watched.pop(state.key, state).to_public() for state in self.engine.store.jobs()]
            rows += [state.to_public() for state in watched.values()]
        else:
            rows = [state.to_public() for state in watched.values()]
        return web.json_response({"jobs": rows})

    async def get_job(self, request: web.Request) -> web.Response:
        """One job: its current state, last snapshot and recent events (newest first)."""
        key = request.match_info["key"]
        state = self.engine.get(key)
        if state is None:
            return error(404, f"no job {key!r}; see GET /jobs", "key")
        events = [entry.to_public() for entry in self.engine.store.history(key, limit=HISTORY_LIMIT)]
        snapshot = None if state.snapshot is None else state.snapshot.to_dict()
        return web.json_response({"job": state.to_public(), "snapshot": snapshot, "events": events})

    async def add_job(self, request: web.Request) -> web.Response:
        """Watch a job: 201 when it was not watched yet, 200 when it already was (or had already ended)."""
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest(None, "the body is not valid JSON") from None
        except web.HTTPRequestEntityTooLarge:
            raise BadRequest(None, f"the body is larger than {MAX_BODY} bytes", status=413) from None
        info, interval = parse_job_request(body, self.settings)
        before = {state.key for state in self.engine.watched()}
        state, new = self.engine.add(info, source="api", interval=interval)
        watching = any(s.key == info.key for s in self.engine.watched())
        log.info("api.job_added", service=info.ref.service, job=info.key, new=new, watching=watching)
        job = state.to_public() if state is not None else None
        status = 201 if watching and info.key not in before else 200
        return web.json_response({"key": info.key, "job": job, "watching": watching}, status=status)

    async def delete_job(self, request: web.Request) -> web.Response:
        """Stop watching a job (its history stays)."""
        key = request.match_info["key"]
        if not self.engine.remove(key):
            return error(404, f"no watched job {key!r}; see GET /jobs", "key")
        log.info("api.job_removed", job=key)
        return web.json_response({"removed": key})

    async def ack_job(self, request: web.Request) -> web.Response:
        """Acknowledge a job's alert (optional body ``{"comment": ...}``): its reminders stop."""
        key = request.match_info["key"]
        acknowledge = getattr(self.engine.notifier, "acknowledge", None)
        if acknowledge is None:
            return error(501, "this daemon has no notifier to acknowledge alerts with")
        if self.engine.get(key) is None:
            return error(404, f"no job {key!r}; see GET /jobs", "key")
        body: Any = {}
        if request.can_read_body:
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise BadRequest(None, "the body is not valid JSON") from None
        if not isinstance(body, dict) or set(body) - {"comment"}:
            raise BadRequest("comment", 'the body may only hold {"comment": "..."}')
        comment = _optional_text(body, "comment", 1000)
        if not acknowledge(self.engine.store, key, comment):
            return error(409, f"job {key!r} has no events to acknowledge yet", "key")
        log.info("api.job_acknowledged", job=key)
        return web.json_response({"acknowledged": key})


def _loopback_host(host: str) -> bool:
    """Whether a Host header names this machine's loopback (``localhost:8787``, ``[::1]:8787``, ``127.0.0.1``)."""
    try:
        name = urlsplit(f"//{host}").hostname or ""
    except ValueError:
        return False
    return name in _LOOPBACK_HOSTS or name.startswith("127.")


def _token_ok(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # constant time, so the answer's timing does not reveal how much of a guess was right
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _store_ok(engine: Engine) -> bool:
    try:
        engine.store.conn.execute("SELECT 1").fetchone()
    except sqlite3.Error:
        return False
    return True


# -- serving -------------------------------------------------------------------------------------


class ApiServer:
    """Serves :class:`Api` inside the engine's task group; ``serving`` is set once it accepts connections."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.serving = anyio.Event()
        self.port: int | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server (loopback when it listens on every address)."""
        return http_url(self.settings.api.host, self.port or self.settings.api.port)

    async def run(self) -> None:
        """Listen until cancelled. A port that cannot be bound stops the engine with a clear error."""
        api = self.settings.api
        runner = web.AppRunner(
            Api(self.engine, self.settings).app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, api.host, api.port)
            try:
                await site.start()
            except OSError as exc:
                self.engine.fatal = JobwatchError(
                    f"the API cannot listen on {api.listen}: {exc.strerror or exc}; "
                    "set api.listen to a free address or api.enabled = false"
                )
                self.engine.stop()
                return
            self.port = int(runner.addresses[0][1])
            log.info("api.serving", url=self.url, token=bool(api.token))
            self.serving.set()
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2.0):
                await runner.cleanup()
