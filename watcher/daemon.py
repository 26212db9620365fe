"""`jobwatch run`: the daemon's life from start to a clean stop on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import anyio
import structlog

from watcher import logging as jlogging
from watcher.config import Settings
from watcher.engine import Engine
from watcher.errors import JobwatchError
from watcher.notify import Notifier
from watcher.store import Store

log = structlog.get_logger(__name__)


def run_daemon(settings: Settings) -> int:
    """Run until a signal; 0 after a clean stop, 1 when state cannot be kept, 2 on a config problem."""
    jlogging.configure(settings.watcher.log_level, settings.watcher.log_format)
    try:
        return anyio.run(_main, settings, backend="asyncio")
    except JobwatchError as exc:
        log.error("daemon.failed", error=str(exc))
        print(f"jobwatch: {exc}", file=sys.stderr)
        return 1


def build(settings: Settings, store: Store) -> tuple[Engine, Notifier]:
    """The engine and notifier of one daemon (shared with the demo and `wait`)."""
    notifier = Notifier.from_settings(settings)
    return Engine(settings, store, notifier), notifier


async def stop_on_signals(engine: Engine, signals: AsyncIterator[int]) -> None:
    """SIGTERM or SIGINT: ask the engine to stop (it drains and closes within a few seconds)."""
    async for signum in signals:
        log.info("daemon.stopping", signal=signal.Signals(signum).name)
        engine.stop()
        return


def extra_tasks(
    settings: Settings, engine: Engine, signals: AsyncIterator[int]
) -> list[Callable[[], Coroutine[Any, Any, Any]]]:
    """The tasks that run beside the engine in the daemon: signals, the API, discovery rules, sd_notify."""
    from watcher import sdnotify
    from watcher.api import ApiServer
    from watcher.discovery import discovery_tasks

    tasks: list[Callable[[], Coroutine[Any, Any, Any]]] = [lambda: stop_on_signals(engine, signals)]
    ready = [engine.ready]
    if settings.api.enabled:
        server = ApiServer(engine, settings)
        tasks.append(server.run)
        ready.append(server.serving)
    tasks.extend(rule.run for rule in discovery_tasks(settings, engine))
    tasks.append(lambda: sdnotify.run(*ready))
    return tasks


async def _main(settings: Settings) -> int:
    # Listen first: a SIGTERM while the daemon starts is a clean stop too, not a kill.
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        store = Store.open(settings.watcher.state)
        try:
            engine, notifier = build(settings, store)
            problems = notifier.problems()
            if problems:
                for problem in problems:
                    print(f"jobwatch: {problem}", file=sys.stderr)
                return 2
            await engine.run(*extra_tasks(settings, engine, signals))
        finally:
            store.close()
    return 0
