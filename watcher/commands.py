"""The commands behind ``jobwatch run / check-config / list / history / test-notify / add / remove``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from watcher.errors import ConfigError, JobwatchError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _settings(args: argparse.Namespace, *, required: bool = True) -> Any:
    from watcher.config import DEFAULT_PATHS, find_config, load_settings

    path = find_config(getattr(args, "config", None))
    if path is None and required:
        raise ConfigError(
            "no config file: pass --config PATH, set JOBWATCH_CONFIG, or create ./jobwatch.toml "
            f"(looked in {', '.join(DEFAULT_PATHS)}); see config/minimal.toml"
        )
    return load_settings(path)


def _fail(exc: Exception) -> int:
    for line in str(exc).splitlines() or [""]:
        print(f"jobwatch: {line}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    """Run the daemon until SIGTERM/SIGINT."""
    from watcher.daemon import run_daemon

    try:
        settings = _settings(args)
    except JobwatchError as exc:
        return _fail(exc)
    return run_daemon(settings)


def check_config(args: argparse.Namespace) -> int:
    """Validate the config and every channel without starting or sending anything."""
    from watcher.config import masked
    from watcher.notify import Notifier

    try:
        settings = _settings(args)
    except JobwatchError as exc:
        return _fail(exc)
    notifier = Notifier.from_settings(settings)
    problems = notifier.problems()
    for problem in problems:
        print(f"jobwatch: {problem}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    if args.print:
        print(json.dumps(masked(settings), indent=2))
    else:
        print(
            f"config OK: {len(settings.jobs)} jobs, {len(settings.discover)} discovery rules, "
            f"{len(settings.channels)} channels, {len(settings.routes)} routes"
        )
    return EXIT_OK


def _open_store(settings: Any) -> Any:
    from watcher.store import Store

    return Store.open(settings.watcher.state)


def _api_base(settings: Any) -> str | None:
    """The running daemon's API address, or None when it does not answer."""
    from watcher.apiclient import daemon_url

    url: str | None = daemon_url(settings)
    return url


def list(args: argparse.Namespace) -> int:
    """Every watched job (from the running daemon's API when it answers, else the state file)."""
    from watcher.apiclient import request

    try:
        settings = _settings(args)
        base = _api_base(settings)
        if base is not None:
            rows = request(settings, "GET", f"{base}/jobs" + ("?all=1" if args.all else ""))["jobs"]
        else:
            with _open_store(settings) as store:
                rows = [job.to_public() for job in store.jobs(active_only=not args.all)]
    except JobwatchError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    print(
        _table(
            rows,
            [
                ("key", "JOB"),
                ("name", "NAME"),
                ("phase", "PHASE"),
                ("status", "STATUS"),
                ("last_poll_at", "LAST POLL"),
                ("next_poll_at", "NEXT POLL"),
            ],
        )
    )
    return EXIT_OK


def _table(rows: Any, columns: Any) -> str:
    def cell(row: dict[str, Any], key: str) -> str:
        value = row.get(key)
        text = "-" if value in (None, "") else str(value)
        if key.endswith("_at") and value:
            text = text.replace("T", " ").replace("+00:00", "Z")
        return text if len(text) <= 60 else text[:57] + "..."

    table = [[title for _, title in columns]] + [[cell(r, key) for key, _ in columns] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    lines = ["  ".join(value.ljust(widths[i]) for i, value in enumerate(line)).rstrip() for line in table]
    if not rows:
        lines.append("(no jobs)")
    return "\n".join(lines)


def history(args: argparse.Namespace) -> int:
    """Events and their deliveries, newest first."""
    from watcher.notify.history import format_history

    try:
        settings = _settings(args)
        with _open_store(settings) as store:
            entries = store.history(args.job, limit=args.limit)
    except JobwatchError as exc:
        return _fail(exc)
    print(format_history(entries, args.json))
    return EXIT_OK


def test_notify(args: argparse.Namespace) -> int:
    """Send a sample event through each channel (or one) and report per channel."""
    import anyio

    from watcher.notify import Notifier

    try:
        settings = _settings(args)
    except JobwatchError as exc:
        return _fail(exc)
    notifier = Notifier.from_settings(settings)
    names = [c.name for c in settings.channels]
    if args.channel and args.channel not in names:
        return _fail(ConfigError(f"unknown channel {args.channel!r}; known: {', '.join(names) or '(none)'}"))
    if not names:
        return _fail(ConfigError("no [[channels]] in the config"))
    results = anyio.run(notifier.send_test, args.channel)
    failed = 0
    for name, error in results.items():
        if error is None:
            print(f"{name}: delivered")
        else:
            failed += 1
            print(f"{name}: FAILED: {error}")
    return EXIT_FAILED if failed else EXIT_OK


def parse_params(pairs: Any) -> dict[str, str]:
    """``key=value`` words (a job's identity on the command line) as a dict; ConfigError for any other word."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{pair!r} is not key=value (for example jobArn=arn:aws:braket:...)")
        params[key] = value
    return params


def add(args: argparse.Namespace) -> int:
    """Watch a job: through the daemon's API when it runs (so it starts at once), else in the state file."""
    from watcher.apiclient import request
    from watcher.config import JobConfig
    from watcher.durations import parse_duration
    from watcher.store import JobState

    try:
        settings = _settings(args)
        params = parse_params(args.params)
        interval = parse_duration(args.interval) if args.interval else None
        try:
            job = JobConfig.model_validate({"service": args.service, "name": args.name, "tags": args.tags, **params})
        except Exception as exc:  # pydantic's ValidationError: show its messages, not a traceback
            raise ConfigError(str(exc).split("\n", 1)[-1].strip()) from None
        base = _api_base(settings)
        if base is not None:
            body = {
                "service": args.service,
                "params": params,
                "name": args.name,
                "tags": args.tags,
                "interval": interval,
            }
            answer = request(settings, "POST", f"{base}/jobs", body)
            print(f"watching {answer['key']} (through the running daemon)")
            return EXIT_OK
        info = job.info()
        with _open_store(settings) as store:
            now = time.time()
            new = store.upsert_job(
                JobState(info=info, source="cli", interval=interval, added_at=now, next_poll_at=now), revive=True
            )
        print(
            f"{'added' if new else 'updated'} {info.key} in {settings.watcher.state}; "
            "the daemon polls it when it next starts"
        )
    except (JobwatchError, ValueError) as exc:
        return _fail(exc)
    return EXIT_OK


def remove(args: argparse.Namespace) -> int:
    """Stop watching a job (its history stays)."""
    from urllib.parse import quote

    from watcher.apiclient import request

    try:
        settings = _settings(args)
        base = _api_base(settings)
        if base is not None:
            request(settings, "DELETE", f"{base}/jobs/{quote(args.key, safe='')}")
            print(f"removed {args.key}")
            return EXIT_OK
        with _open_store(settings) as store:
            if not store.remove_job(args.key):
                print(f"jobwatch: no watched job {args.key!r}; see `jobwatch list`", file=sys.stderr)
                return EXIT_FAILED
        print(f"removed {args.key}")
    except JobwatchError as exc:
        return _fail(exc)
    return EXIT_OK


def ack(args: argparse.Namespace) -> int:
    """Acknowledge a job's current alert so its repeats stop (through the daemon when it runs)."""
    from urllib.parse import quote

    from watcher.apiclient import request

    try:
        settings = _settings(args)
        base = _api_base(settings)
        if base is not None:
            request(settings, "POST", f"{base}/jobs/{quote(args.key, safe='')}/ack", {"comment": args.comment})
        else:
            with _open_store(settings) as store:
                if store.acknowledge(args.key, time.time(), args.comment) is None:
                    print(f"jobwatch: no events for {args.key!r}; see `jobwatch list --all`", file=sys.stderr)
                    return EXIT_FAILED
    except JobwatchError as exc:
        return _fail(exc)
    print(f"acknowledged {args.key}: no more reminders for its current alert")
    return EXIT_OK
