"""A real daemon for the API tests: engine, SQLite file, API server on 127.0.0.1 and the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest

from watcher.api import ApiServer
from watcher.config import Settings
from watcher.discovery import discovery_tasks
from watcher.engine import Engine
from watcher.model import SERVICES
from watcher.store import Store


def daemon_settings(sim_url: str, tmp_path: Path, **extra: Any) -> Settings:
    """Quick polls against the simulator, state in ``tmp_path``, the API on a free loopback port."""
    raw: dict[str, Any] = {
        "watcher": {
            "state": str(tmp_path / "state.db"),
            "poll_interval": 0.2,
            "max_poll_interval": 0.5,
            "stuck_after": 0,
        },
        "aws": {"region": "us-east-1", "endpoint_url": sim_url},
        "services": {s: {"rate_limit": 50} for s in SERVICES},
        "api": {"listen": "127.0.0.1:0"},
        "notify": {"retry_base": 0.1, "retry_cap": 0.5},
    }
    for key, value in extra.items():
        raw[key] = {**raw[key], **value} if isinstance(raw.get(key), dict) else value
    return Settings.model_validate(raw)


@dataclass
class Daemon:
    """A running engine with its API."""

    engine: Engine
    store: Store
    settings: Settings
    server: ApiServer

    @property
    def url(self) -> str:
        return self.server.url


@asynccontextmanager
async def running(settings: Settings, notifier: Any = None) -> AsyncIterator[Daemon]:
    """Run engine, API and discovery rules of ``settings`` until the block ends."""
    store = Store.open(settings.watcher.state)
    engine = Engine(settings, store, notifier)
    server = ApiServer(engine, settings)
    tasks = [server.run, *(rule.run for rule in discovery_tasks(settings, engine))]
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(engine.run, *tasks))
            with anyio.fail_after(10):
                await server.serving.wait()
            try:
                yield Daemon(engine, store, settings, server)
            finally:
                engine.stop()
    finally:
        store.close()


async def until(condition: Any, within: float = 10.0, what: str = "condition") -> None:
    """Poll ``condition()`` every 20 ms; fail with ``what`` after ``within`` seconds."""
    try:
        with anyio.fail_after(within):
            while not condition():  # noqa: ASYNC110 - the conditions are plain state, no event tells of them
                await anyio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def settings_for(sim: Any, tmp_path: Path) -> Any:
    """``settings_for(**overrides)``: daemon settings against this test's simulator."""
    return partial(daemon_settings, sim.url, tmp_path)


@pytest.fixture
def daemon() -> Any:
    """``async with daemon(settings, notifier=None) as d``: a running engine and API."""
    return running


@pytest.fixture
def wait_until() -> Any:
    """``await wait_until(condition, within=10, what=...)``."""
    return until
