"""systemd readiness: a fake NOTIFY_SOCKET (a datagram socket of the test) hears READY=1, WATCHDOG=1, STOPPING=1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from watcher import sdnotify
from watcher.apiclient import daemon_url, request
from watcher.config import load_settings

JOBWATCH = str(Path(sys.executable).parent / "jobwatch")


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket in a short directory (socket paths are limited to about 100 bytes)."""
    where = tempfile.mkdtemp(prefix="jw-", dir="/tmp")
    path = os.path.join(where, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    try:
        yield sock, path
    finally:
        sock.close()
        shutil.rmtree(where, ignore_errors=True)


def test_notify_reaches_a_path_and_an_abstract_socket(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    assert sdnotify.notify("READY=1", env={"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1"
    name = f"jobwatch-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as abstract:
        abstract.bind(b"\0" + name.encode())
        abstract.settimeout(5)
        assert sdnotify.notify("WATCHDOG=1", env={"NOTIFY_SOCKET": f"@{name}"})
        assert abstract.recv(4096) == b"WATCHDOG=1"
    assert not sdnotify.notify("READY=1", env={})  # not under systemd: nothing to do
    assert not sdnotify.notify("READY=1", env={"NOTIFY_SOCKET": path + ".missing"})


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "4000000"}) == 2.0
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}) == 2.0
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}) is None  # not ours
    assert sdnotify.watchdog_interval({}) is None
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "0"}) is None


@pytest.mark.anyio
@pytest.mark.usefixtures("aws_env")
async def test_the_daemon_says_ready_once_serving_beats_the_watchdog_and_says_stopping(
    sim: Any, tmp_path: Path, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, path = notify_socket
    arn = sim.control.add_job("braket", "found-by-rule", [{"at": 0, "fields": {"status": "RUNNING"}}])["params"][
        "jobArn"
    ]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "jobwatch.toml"
    config.write_text(
        f'[watcher]\nstate = "{tmp_path / "state.db"}"\npoll_interval = "200ms"\n'
        f'[aws]\nregion = "us-east-1"\nendpoint_url = "{sim.url}"\n'
        f'[api]\nlisten = "127.0.0.1:{port}"\n'
        '[[discover]]\nservice = "braket"\ninterval = "200ms"\n'
    )
    settings = load_settings(config)
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"}
    log = (tmp_path / "daemon.log").open("wb")

    async def message() -> bytes:
        data: bytes = await anyio.to_thread.run_sync(sock.recv, 4096)
        return data

    with anyio.fail_after(30), log:
        async with await anyio.open_process([JOBWATCH, "run", "-c", str(config)], env=env, stderr=log) as daemon:
            ready = await message()
            assert ready.startswith(b"READY=1\n") and f"MAINPID={daemon.pid}".encode() in ready
            # READY means serving: the API answers at once, nothing to retry
            base = await anyio.to_thread.run_sync(daemon_url, settings)
            assert base == f"http://127.0.0.1:{port}"
            beats = [await message() for _ in range(3)]
            assert beats == [b"WATCHDOG=1"] * 3
            while True:  # the discovery rule finds the job (the watchdog beats on meanwhile)
                jobs = await anyio.to_thread.run_sync(request, settings, "GET", f"{base}/jobs")
                if jobs["jobs"]:
                    break
                assert await message() == b"WATCHDOG=1"
            assert [j["key"] for j in jobs["jobs"]] == [f"braket:{arn}"]
            daemon.send_signal(signal.SIGTERM)
            rest = []
            while not rest or rest[-1] != b"STOPPING=1":
                rest.append(await message())
            assert set(rest[:-1]) <= {b"WATCHDOG=1"}
            assert await daemon.wait() == 0


@pytest.mark.anyio
@pytest.mark.usefixtures("aws_env")
async def test_a_taken_api_port_stops_the_daemon_with_a_clear_error(sim: Any, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "jobwatch.toml"
        config.write_text(
            f'[watcher]\nstate = "{tmp_path / "state.db"}"\n'
            f'[aws]\nregion = "us-east-1"\nendpoint_url = "{sim.url}"\n'
            f'[api]\nlisten = "127.0.0.1:{port}"\n'
        )
        with anyio.fail_after(30):
            done = await anyio.run_process([JOBWATCH, "run", "-c", str(config)], check=False)
    assert done.returncode == 1
    assert f"the API cannot listen on 127.0.0.1:{port}" in done.stderr.decode()
