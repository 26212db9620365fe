"""Helpers of the reliability drills (fixtures in conftest.py): `jobwatch run` as a real subprocess, a
receiver that can go away and come back on the same port, scripted simulator jobs, read-only looks into the
state file and a tiny filesystem.

Everything is local: the simulator runs in a thread of the test process (it outlives every daemon), the
daemon is a child process killed and restarted at will, notifications go through apprise's ``json://`` to
an aiohttp receiver in the test's event loop.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

from watcher.model import JobInfo, JobRef
from watcher.simulator.scripts import ENDS, RUNNING

# A body every drill can parse: one line per event, the fields that identify it.
BODY = "{{ kind }}|{{ job.key }}|{{ phase }}|{{ old_status }}|{{ new_status }}|{{ at }}"

SERVICES = tuple(RUNNING)


@dataclass(frozen=True)
class SimJob:
    """A scripted simulator job and what the drills expect of it."""

    info: JobInfo
    end: str  # the terminal phase it reaches
    ends_at: float  # seconds after creation


def add_jobs(control: Any, count: int, rng: Any, *, running: tuple[float, float], ends: tuple[float, float],
             prefix: str = "drill") -> list[SimJob]:  # fmt: skip
    """``count`` jobs round robin over the services: running after U(running) s, ended after U(ends) s more."""
    jobs = []
    for i in range(count):
        service = SERVICES[i % len(SERVICES)]
        end = rng.choice(sorted(ENDS[service]))
        start = rng.uniform(*running)
        finish = start + rng.uniform(*ends)
        script = [{"at": round(start, 3), "fields": RUNNING[service]},
                  {"at": round(finish, 3), "fields": ENDS[service][end]}]  # fmt: skip
        entry = control.add_job(service, f"{prefix}-{i:04d}", script)
        jobs.append(SimJob(JobInfo(ref=JobRef(service, entry["params"]), name=entry["name"]), end, finish))
    return jobs


def toml(value: Mapping[str, Any]) -> str:
    """A config file from a dict: tables, arrays of tables and inline values (enough for these drills)."""
    lines: list[str] = []

    def inline(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(inline(x) for x in v) + "]"
        if isinstance(v, Mapping):
            return "{ " + ", ".join(f"{k} = {inline(x)}" for k, x in v.items()) + " }"
        raise TypeError(type(v))

    for key, item in value.items():
        if isinstance(item, Mapping) and all(isinstance(v, Mapping) for v in item.values()) and item:
            for sub, table in item.items():
                lines.append(f"[{key}.{sub}]")
                lines.extend(f"{k} = {inline(v)}" for k, v in table.items())
        elif isinstance(item, Mapping):
            lines.append(f"[{key}]")
            lines.extend(f"{k} = {inline(v)}" for k, v in item.items())
        elif isinstance(item, list) and item and all(isinstance(v, Mapping) for v in item):
            for table in item:
                lines.append(f"[[{key}]]")
                lines.extend(f"{k} = {inline(v)}" for k, v in table.items())
        else:
            raise TypeError(f"top-level {key} must be a table or an array of tables")
    return "\n".join(lines) + "\n"


def daemon_config(sim_url: str, state: Path, hook: str | None = None, **sections: Mapping[str, Any]) -> dict[str, Any]:
    """A quick-polling daemon config against the simulator; ``hook``: a json:// channel for phase events."""
    raw: dict[str, Any] = {
        "watcher": {"state": str(state), "poll_interval": "300ms", "max_poll_interval": "1s", "stuck_after": 0,
                    "log_format": "json"},
        "aws": {"region": "us-east-1", "endpoint_url": sim_url},
        "services": {s: {"rate_limit": 40} for s in SERVICES},
        "api": {"enabled": False},
        "notify": {"retry_base": "100ms", "retry_cap": "500ms", "send_timeout": "5s"},
    }  # fmt: skip
    if hook is not None:
        raw["channels"] = [{"name": "hook", "url": hook, "format": "text", "body": BODY}]
        raw["routes"] = [{"channels": ["hook"], "when": {"kind": ["phase"]}}]
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    return raw


class Daemon:
    """`jobwatch run -c CONFIG` as a child process; stderr goes to a log file that accumulates over restarts."""

    def __init__(self, config: Mapping[str, Any], workdir: Path, env: Mapping[str, str | None] | None = None) -> None:
        self.path = workdir / "jobwatch.toml"
        self.path.write_text(toml(config))
        self.log = workdir / "daemon.log"
        # the test's environment (dummy AWS credentials), changed by ``env``: None removes a variable
        merged = {**os.environ, **(env or {})}
        self.env = {name: value for name, value in merged.items() if value is not None}
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._log_from = 0

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self._log_from = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "watcher.cli", "run", "-c", str(self.path)], stderr=log, env=self.env
            )
        self.starts += 1

    def kill(self) -> int:
        """SIGKILL and reap; returns the exit status (-9 when the kill did it)."""
        assert self.process is not None
        self.process.kill()
        return self.process.wait(10)

    def terminate(self, within: float = 15.0) -> int:
        """SIGTERM and wait (a clean stop drains and returns 0)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(within)

    async def started(self, within: float = 30.0) -> None:
        """Wait until this start's engine runs (its "engine.started" log line) and its signal handler is up.

        The handler task opens its signal receiver on the loop's first turns after that line, and nothing
        outside the process shows when: a SIGTERM in between ends the daemon by the default action (-15).
        A quarter second covers those turns; found by the kill drill, reported to the engine's owner.
        """
        with anyio.fail_after(within):
            while b'"engine.started"' not in self.log.read_bytes()[self._log_from :]:
                assert self.running(), f"the daemon exited; log:\n{self.log_text()[-3000:]}"
                await anyio.sleep(0.05)
        await anyio.sleep(0.25)

    async def exited(self, within: float) -> int:
        """The exit status once the daemon ends by itself; fails the test after ``within`` seconds."""
        assert self.process is not None
        try:
            with anyio.fail_after(within):
                while self.process.poll() is None:
                    await anyio.sleep(0.05)
        except TimeoutError:
            self.process.kill()
            self.process.wait(10)
            pytest.fail(f"the daemon did not exit within {within}s; log tail:\n{self.log_text()[-2000:]}")
        return self.process.returncode

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def make_daemon(tmp_path: Path, aws_env: None) -> Iterator[Any]:
    """``make_daemon(config, env=None)``: a :class:`Daemon` (not started; ``env`` changes its environment, None
    removes a variable); every one is killed at the end."""
    made: list[Daemon] = []

    def make(config: Mapping[str, Any], env: Mapping[str, str | None] | None = None) -> Daemon:
        workdir = tmp_path / f"daemon-{len(made)}"
        workdir.mkdir()
        daemon = Daemon(config, workdir, env)
        made.append(daemon)
        return daemon

    yield make
    for daemon in made:
        daemon.close()


def read_state(path: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A read-only query of a state file another process writes (WAL lets readers in at any time)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def state_progress(path: Path) -> tuple[int, int]:
    """(jobs still watched, outbox rows still pending); (-1, -1) before the file has its tables."""
    try:
        active = read_state(path, "SELECT COUNT(*) FROM jobs WHERE done = 0")[0][0]
        pending = read_state(path, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'")[0][0]
    except sqlite3.Error:
        return -1, -1
    return int(active), int(pending)


# -- a receiver that can go away ------------------------------------------------------------------------


@dataclass
class Notice:
    """One request the receiver answered: the parsed event line and the status it got."""

    kind: str
    job: str
    phase: str
    old: str
    new: str
    at: str
    status: int
    life: int = 0  # the receiver's ``life`` when it was handled: which daemon start sent it


@dataclass
class Receiver:
    """An aiohttp receiver on a fixed loopback port: ``down()`` closes the port (connection refused),
    ``up()`` opens it again; ``status`` is the answer while up (503: an outage that still accepts). A notice
    counts as delivered when it arrived while the answer was 2xx, even if the sender never read the answer."""

    port: int
    status: int = 200
    delay: float = 0.0  # seconds each answer is held (a slow receiver keeps sends in flight)
    life: int = 0  # set by a drill that restarts the daemon: stamps each notice with the sender's life
    notices: list[Notice] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        parts = str(body.get("message", "")).strip().split("|")
        if len(parts) == 6:
            self.notices.append(Notice(*parts, status=self.status, life=self.life))
        if self.delay:
            await anyio.sleep(self.delay)
        return web.Response(status=self.status, text="ok" if self.status < 400 else "unavailable")

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def delivered(self) -> list[Notice]:
        """Notices answered 2xx: what the daemon was told was delivered."""
        return [n for n in self.notices if 200 <= n.status < 300]


@pytest.fixture
async def receiver(anyio_backend: str) -> AsyncIterator[Receiver]:
    """A :class:`Receiver` on a free loopback port, up."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    rec = Receiver(port)
    await rec.up()
    try:
        yield rec
    finally:
        await rec.down()


# -- a small filesystem of our own ------------------------------------------------------------------------


@dataclass
class SmallFs:
    """A tmpfs mounted for one test: ``path``, ``fill()`` until it is full, ``read_only()`` remounts it."""

    path: Path
    filler: Path | None = None

    def fill(self) -> int:
        """Write a filler file until the filesystem refuses (ENOSPC); returns bytes written."""
        self.filler = self.path / f"filler-{uuid.uuid4().hex}"
        written = 0
        chunk = b"\0" * 65536
        with self.filler.open("wb", buffering=0) as out:
            while True:
                try:
                    written += out.write(chunk)
                except OSError:
                    try:
                        written += out.write(b"\0" * 512)
                    except OSError:
                        return written

    def read_only(self) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True, capture_output=True)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[SmallFs]:
    """A 4 MB tmpfs; skipped with the reason when this machine does not let the test mount one."""
    where = tmp_path / "small-fs"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CAP_SYS_ADMIN); cannot make a disk fill up here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); no way to fill a disk safely")
    try:
        yield SmallFs(where)
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
