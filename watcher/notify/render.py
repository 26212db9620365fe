"""Messages from events: the template fields, the sandboxed Jinja2 environments and the default templates.

Every template sees the fields in :data:`FIELDS`. Values are cleaned of control characters and cut to
``field_max_length`` when the context is built, and escaped for the channel's format when a template
prints them (``|safe`` opts out, for trusted text only). ``link(url, text)`` writes a link in the
channel's format. The default templates live in ``watcher/notify/templates/`` (``title.j2``,
``body.<format>.j2``, ``digest.<format>.j2``, ``digest_title.j2``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from jinja2 import ChainableUndefined, FileSystemLoader, Template, TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from watcher.durations import format_duration
from watcher.model import Event, EventKind, JobInfo, Phase, Snapshot
from watcher.notify.escape import ESCAPERS, clean, cut, cut_rendered, link

log = structlog.get_logger(__name__)

TEMPLATES = Path(__file__).parent / "templates"

FIELDS: dict[str, str] = {
    "kind": "event kind: watching, phase, status, result, progress, step_failed, job_event, stuck, vanished, error",
    "headline": "what happened in a few words, e.g. 'running → failed' or 'step BUILD failed'",
    "summary": "the event's one-line plain summary",
    "service": "service name: devicefarm, deadline, amplify, iot, braket",
    "service_label": "service display name, e.g. 'Deadline Cloud'",
    "job": "the job: name (display name), key, params (identity parameters), region, tags",
    "job_name": "the job's display name (its configured name, else its key)",
    "phase": "the job's common phase after the event: queued, running, succeeded, failed, cancelled, unknown",
    "old_status": "value before the change (phase, raw status or result, by kind); None for other kinds",
    "new_status": "value after the change for phase/status/result events, else the raw status",
    "status": "the service's raw status at the event",
    "result": "the service's raw result (Device Farm result, Deadline lifecycle status, IoT reason code, ...)",
    "at": "when the event was seen (UTC)",
    "created": "job creation time (UTC) or None",
    "started": "job start time (UTC) or None",
    "ended": "job end time (UTC) or None",
    "duration": "ended - started (or event time - started while running), e.g. '12m05s', or None",
    "counters": "progress counters by name (dict)",
    "progress": "the counters as text, e.g. 'passed 8, failed 1, total 10', or None",
    "moved": "for progress events: counter name -> [old, new]",
    "moved_text": "for progress events: the moves as text, e.g. 'passed 3 → 5'",
    "queue_position": "Braket queue position or None",
    "failure": "failure detail (untrusted text) or None",
    "step": "failed step: name, reason, log_url (Amplify) or None",
    "job_event": "for job_event events: type, message, at",
    "recent_events": "the service's latest job events (Braket): list of at, type, message",
    "error": "for error events: code, message",
    "stuck_for": "for stuck events: how long nothing changed (or how long it ran), e.g. '2h00m'",
    "stuck_limit": "for stuck events of a job past its own time limit (Braket maxRuntimeInSeconds): that limit",
    "details": "other display fields as (label, value) pairs: description, commit, device, ...",
    "info": "the raw display-only fields of the snapshot (dict)",
    "console_url": "the AWS console page of the job, where one can be built, else None",
    "hostname": "the host jobwatch runs on",
    "repeat": "0 for the first notice, n for the n-th reminder",
    "notify_type": "apprise notify type: info, success, warning, failure",
    "icon": "an emoji for the notify type",
    "format": "the channel's format: text, markdown, html, slack",
    "link": "function link(url, text): a link in the channel's format (text alone when the URL is unusable)",
}
DIGEST_FIELDS: dict[str, str] = {
    "items": "the events, each with every single-event field",
    "count": "how many events the digest holds",
    "more": "events left out of this digest (shown in history)",
    "counts": "events by notify type as text, e.g. '2 failure, 3 success'",
    "icon": "the icon of the worst notify type in the digest",
    "hostname": "the host jobwatch runs on",
    "format": "the channel's format",
    "link": "function link(url, text)",
}

SERVICE_LABELS = {
    "devicefarm": "Device Farm",
    "deadline": "Deadline Cloud",
    "amplify": "Amplify",
    "iot": "IoT Jobs",
    "braket": "Braket",
}
ICONS = {"success": "✅", "failure": "❌", "warning": "⚠️", "info": "ℹ️"}  # noqa: RUF001
_SEVERITY = ("info", "success", "warning", "failure")
_DETAIL_LABELS = (
    ("description", "Description"),
    ("commit_message", "Commit"),
    ("commit_id", "Commit id"),
    ("device", "Device"),
    ("message", "Message"),
    ("comment", "Comment"),
    ("queue_message", "Queue"),
    ("instance_type", "Instance"),
)
_ARN_REGION = re.compile(r"^arn:[^:]+:[^:]+:([a-z0-9-]+):")


def notify_type(event: Event) -> str:
    """Apprise's notify type for an event: success, failure, warning or info."""
    if event.kind is EventKind.PHASE:
        return {
            Phase.SUCCEEDED.value: "success",
            Phase.FAILED.value: "failure",
            Phase.CANCELLED.value: "warning",
        }.get(event.new or "", "info")
    if event.kind is EventKind.STEP_FAILED:
        return "failure"
    if event.kind in (EventKind.STUCK, EventKind.VANISHED, EventKind.ERROR):
        return "warning"
    return "info"


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered notification: what apprise is given."""

    title: str
    body: str
    notify_type: str


@dataclass(frozen=True, slots=True)
class Style:
    """How one channel's messages are written: body format, title escaping, length, its own templates."""

    format: str
    title_format: str
    max_length: int
    title: str | None = None
    body: str | None = None


def _finalize_for(fmt: str) -> Any:
    escape = ESCAPERS[fmt]

    def finalize(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, Markup) or fmt == "html":  # html: autoescape does it
            return value
        return escape(value if isinstance(value, str) else str(value))

    return finalize


@functools.cache
def environment(fmt: str) -> ImmutableSandboxedEnvironment:
    """The sandboxed Jinja2 environment of one format (cached: one per format per process)."""
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=fmt == "html",
        finalize=_finalize_for(fmt),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["link"] = functools.partial(link, fmt=fmt)
    return env


@functools.cache
def _compiled(fmt: str, source: str) -> Template:
    return environment(fmt).from_string(source)


def check_template(source: str, *, digest: bool = False) -> str | None:
    """What is wrong with a user template (syntax error, unknown field), or None."""
    env = environment("text")
    try:
        parsed = env.parse(source)
    except TemplateSyntaxError as exc:
        return f"template syntax error on line {exc.lineno}: {exc.message}"
    known = set(DIGEST_FIELDS if digest else FIELDS) | set(env.globals)
    unknown = sorted(meta.find_undeclared_variables(parsed) - known)
    if unknown:
        return f"unknown template field {', '.join(map(repr, unknown))}; known: {', '.join(sorted(FIELDS))}"
    return None


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _text(value: Any, limit: int) -> Any:
    """Untrusted value made safe to quote: strings cleaned and cut, containers walked."""
    if isinstance(value, str):
        return cut(clean(value), limit)
    if isinstance(value, Mapping):
        return {str(_text(k, limit)): _text(v, limit) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text(v, limit) for v in value]
    return value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _seconds(value: Any) -> str | None:
    return format_duration(float(value)) if isinstance(value, int | float) else None


def _counters_text(counters: Mapping[str, int]) -> str | None:
    parts = [f"{name.replace('_', ' ')} {count}" for name, count in counters.items() if count]
    return ", ".join(parts) or None


def _moved_text(moved: Any) -> str | None:
    if not isinstance(moved, Mapping):
        return None
    parts = []
    for name, change in list(moved.items())[:8]:
        if isinstance(change, list | tuple) and len(change) == 2:
            parts.append(f"{str(name).replace('_', ' ')} {change[0]} → {change[1]}")
    return ", ".join(parts) or None


def console_url(job: JobInfo, default_region: str | None) -> str | None:
    """The job's AWS console page from its adapter, where the adapter exists and can build one."""
    try:
        from watcher.services import adapter_for

        adapter = adapter_for(job.ref.service)
    except (KeyError, ImportError, AttributeError):
        return None
    params = job.ref.params
    region = job.ref.region or default_region or adapter.default_region
    if region is None:
        for value in params.values():
            found = _ARN_REGION.match(str(value))
            if found:
                region = found.group(1)
                break
    build = getattr(adapter, "console_url", None)
    if region is None or build is None:
        return None
    try:
        url = build(params, region)
    except (KeyError, ValueError, TypeError) as exc:  # a half-formed identity: no link, the message still goes
        log.debug("notify.console_url_failed", service=job.ref.service, job=job.key, error=type(exc).__name__)
        return None
    return url if isinstance(url, str) else None


def _headline(kind: EventKind, c: Mapping[str, Any]) -> str:
    step, job_event, error = c["step"] or {}, c["job_event"] or {}, c["error"] or {}
    if kind is EventKind.PHASE:
        return f"{c['old_status'] or '?'} → {c['new_status'] or '?'}"
    if kind is EventKind.STATUS:
        return f"status {c['old_status'] or '?'} → {c['new_status'] or '?'}"
    if kind is EventKind.RESULT:
        return f"result {c['old_status'] or 'none'} → {c['new_status'] or 'none'}"
    if kind is EventKind.PROGRESS:
        return f"progress {c['moved_text'] or c['progress'] or ''}".rstrip()
    if kind is EventKind.STEP_FAILED:
        return f"step {step.get('name') or '?'} failed"
    if kind is EventKind.JOB_EVENT:
        return f"event {job_event.get('type') or '?'}"
    if kind is EventKind.STUCK:
        if c["stuck_limit"]:
            return f"running for {c['stuck_for']}, past its own limit of {c['stuck_limit']}"
        return f"stuck, no change for {c['stuck_for'] or 'a long time'}"
    if kind is EventKind.VANISHED:
        return "vanished (no longer found)"
    if kind is EventKind.ERROR:
        return f"polling fails: {error.get('code') or 'error'}"
    return f"now watching, {c['phase']}"


def context(
    event: Event,
    job: JobInfo,
    snapshot: Snapshot | None,
    *,
    hostname: str,
    repeat: int = 0,
    field_max_length: int = 500,
    default_region: str | None = None,
) -> dict[str, Any]:
    """The template fields of one event (see :data:`FIELDS`); untrusted strings cleaned and cut."""
    n = field_max_length
    detail: Mapping[str, Any] = event.detail or {}
    snap = snapshot
    kind = event.kind
    status = snap.status if snap is not None else _str(detail.get("status"))
    phase = snap.phase.value if snap is not None else (detail.get("phase") or event.new or Phase.UNKNOWN.value)
    changing = kind in (EventKind.PHASE, EventKind.STATUS, EventKind.RESULT)
    started, ended = (snap.started_at, snap.ended_at) if snap else (None, None)
    duration = None
    if started is not None:
        duration = format_duration(((ended or event.at) - started).total_seconds())
    step = None
    if kind is EventKind.STEP_FAILED:
        step = {"name": detail.get("step"), "reason": detail.get("reason"), "log_url": detail.get("log_url")}
    elif snap is not None and snap.info.get("failed_steps") and snap.phase is Phase.FAILED:
        name, facts = next(iter(dict(snap.info["failed_steps"]).items()))
        facts = facts if isinstance(facts, Mapping) else {}
        step = {"name": name, "reason": facts.get("reason"), "log_url": facts.get("log_url")}
    info = dict(snap.info) if snap is not None else {}
    c: dict[str, Any] = {
        "kind": kind.value,
        "summary": event.summary,
        "service": event.service,
        "service_label": SERVICE_LABELS.get(event.service, event.service),
        "job": {
            "name": job.display_name,
            "key": job.key,
            "params": dict(job.ref.params),
            "region": job.ref.region,
            "tags": list(job.tags),
        },
        "job_name": job.display_name,
        "phase": phase,
        "old_status": event.old if changing else None,
        "new_status": event.new if changing else (status or event.new),
        "status": status,
        "result": snap.result if snap is not None else detail.get("result"),
        "at": _when(event.at),
        "created": _when(snap.created_at) if snap else None,
        "started": _when(started),
        "ended": _when(ended),
        "duration": duration,
        "counters": dict(snap.counters) if snap else {},
        "progress": _counters_text(snap.counters) if snap else None,
        "moved": detail.get("moved") if kind is EventKind.PROGRESS else None,
        "moved_text": _moved_text(detail.get("moved")) if kind is EventKind.PROGRESS else None,
        "queue_position": snap.queue_position if snap else None,
        "failure": (snap.failure if snap else None) or detail.get("failure"),
        "step": step,
        "job_event": (
            {"type": detail.get("type"), "message": detail.get("message"), "at": detail.get("at")}
            if kind is EventKind.JOB_EVENT
            else None
        ),
        "recent_events": [
            {"at": _when(r.at), "type": r.type, "message": r.message} for r in (snap.events[-5:] if snap else ())
        ],
        "error": ({"code": detail.get("error"), "message": detail.get("message")} if kind is EventKind.ERROR else None),
        "stuck_for": _seconds(detail.get("seconds")),
        "stuck_limit": _seconds(detail.get("limit_seconds")),
        "details": [(label, info[key]) for key, label in _DETAIL_LABELS if info.get(key) not in (None, "")],
        "info": info,
        "console_url": console_url(job, default_region),
        "hostname": hostname,
        "repeat": repeat,
    }
    c = _text(c, n)
    # failure reasons earn more room than names: they are the point of a failure notice
    failure = (snap.failure if snap else None) or detail.get("failure")
    c["failure"] = _text(failure, 2 * n) if isinstance(failure, str) else None
    c["details"] = [tuple(pair) for pair in c["details"]]
    c["headline"] = cut(_headline(kind, c), n)
    c["notify_type"] = notify_type(event)
    c["icon"] = ICONS[c["notify_type"]]
    return c


def render(fields: Mapping[str, Any], style: Style) -> Message:
    """Render one event's message for a channel; a broken user template falls back to the default."""
    title = _render(style.title_format, style.title, "title.j2", fields, style.format)
    body = _render(style.format, style.body, f"body.{style.format}.j2", fields, style.format)
    return Message(
        title=cut(" ".join(title.split()), 250),
        body=cut_rendered(body.strip(), style.max_length, style.format),
        notify_type=str(fields["notify_type"]),
    )


def render_digest(items: Sequence[Mapping[str, Any]], style: Style, *, hostname: str, more: int = 0) -> Message:
    """One message for several events (the channel's group window)."""
    kinds = [str(i["notify_type"]) for i in items]
    worst = max(kinds, key=_SEVERITY.index) if kinds else "info"
    counts = ", ".join(f"{kinds.count(k)} {k}" for k in reversed(_SEVERITY) if k in kinds)
    fields = {
        "items": list(items),
        "count": len(items) + more,
        "more": more,
        "counts": counts,
        "icon": ICONS[worst],
        "hostname": hostname,
        "format": style.format,
    }
    title = _template(style.title_format, None, "digest_title.j2").render({**fields, "format": style.format})
    body = _template(style.format, None, f"digest.{style.format}.j2").render(fields)
    return Message(
        title=cut(" ".join(title.split()), 250),
        body=cut_rendered(body.strip(), style.max_length, style.format),
        notify_type=worst,
    )


def _template(fmt: str, source: str | None, default: str) -> Template:
    if source is None:
        return environment(fmt).get_template(default)
    return _compiled(fmt, source)


def _render(fmt: str, source: str | None, default: str, fields: Mapping[str, Any], channel_format: str) -> str:
    values = {**fields, "format": channel_format}
    if source is not None:
        try:
            return _template(fmt, source, default).render(values)
        except Exception as exc:  # a user's template may fail in ways Jinja cannot check up front
            log.warning("notify.template_failed", template=default, error=f"{type(exc).__name__}: {exc}")
    return _template(fmt, None, default).render(values)
