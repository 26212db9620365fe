"""Shared fixtures. Append new fixtures below; keep the existing ones as they are (others depend on them)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from support import quick_settings, until

from watcher.api import ApiServer
from watcher.config import Settings
from watcher.discovery import Rule, discovery_tasks
from watcher.engine import Engine
from watcher.simulator import SimulatorThread
from watcher.store import Store


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (aiobotocore's session and apprise's async_notify need it)."""
    return "asyncio"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Dummy AWS credentials and region; no profile, config file or instance metadata is consulted."""
    empty = tmp_path_factory.mktemp("aws")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(empty / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty / "credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    unset = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
    for name in unset:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    """A fresh, empty simulator in a background thread: ``.url`` and ``.control`` (a SimControl)."""
    with SimulatorThread() as running:
        yield running


# -- a running daemon (engine + local API + discovery rules) for tests/api, tests/discovery, tests/wait --------------
@dataclass
class _Daemon:
    """A running engine with its API."""

    engine: Engine
    store: Store
    settings: Settings
    server: ApiServer
    rules: list[Rule]

    @property
    def url(self) -> str:
        return self.server.url


@asynccontextmanager
async def _running(settings: Settings, notifier: Any = None) -> AsyncIterator[_Daemon]:
    """Run engine, API and discovery rules of ``settings`` until the block ends."""
    store = Store.open(settings.watcher.state)
    engine = Engine(settings, store, notifier)
    server = ApiServer(engine, settings)
    rules = discovery_tasks(settings, engine)
    tasks = [server.run, *(rule.run for rule in rules)]
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(engine.run, *tasks))
            with anyio.fail_after(10):
                await server.serving.wait()
            try:
                yield _Daemon(engine, store, settings, server, rules)
            finally:
                engine.stop()
    finally:
        store.close()


@pytest.fixture
def daemon_settings(sim: Any, tmp_path: Path) -> Any:
    """``daemon_settings(**overrides)``: quick-polling settings against this test's simulator, API on a free port."""
    return partial(quick_settings, sim.url, tmp_path)


@pytest.fixture
def api_daemon() -> Any:
    """``async with api_daemon(settings, notifier=None) as d``: engine, API and discovery rules running;
    ``d.url``, ``d.engine``, ``d.store``, ``d.server``, ``d.rules``."""
    return _running


@pytest.fixture
def wait_until() -> Any:
    """``await wait_until(condition, within=10, what=...)``: poll a plain condition with a deadline."""
    return until


# -- notification receivers for every test folder: http_receiver, smtp_server (tests/notify/receivers.py) -----------
from notify.receivers import http_receiver, smtp_server  # noqa: E402, F401
