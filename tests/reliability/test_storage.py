"""The state file cannot be written: a full disk, a read-only filesystem, an immutable file.

`jobwatch run` must then stop with a clear error naming the state file and exit 1, never spin on without
its state nor die with a traceback. The full disk and the read-only filesystem are a 4 MB tmpfs mounted for
the test (root only, skipped with the reason otherwise); the immutable file uses ``chattr +i`` on the test's
own directory, which blocks writes even through the daemon's open file descriptors (root on ext4 and the
like; skipped otherwise). Plain ``chmod`` would not do: root writes through it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from reliability.drills import Daemon, SmallFs, daemon_config, read_state

from watcher.model import JobInfo, JobRef
from watcher.store import JobState, Store

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("aws_env")]
QUICK = {"poll_interval": "200ms", "max_poll_interval": "300ms"}


def busy_jobs(control: Any, state: Path, count: int = 6) -> None:
    """Device Farm jobs whose counters move every 0.2 s for a minute (every poll commits an event),
    registered in ``state``."""
    script = [{"at": round(0.2 * k, 1), "fields": {"job": {"status": "RUNNING", "counters": {"total": 300,
              "passed": k}}}} for k in range(300)]  # fmt: skip
    with Store.open(state) as store:
        now = time.time()
        for i in range(count):
            entry = control.add_job("devicefarm", f"busy-{i}", script)
            info = JobInfo(ref=JobRef("devicefarm", entry["params"]), name=entry["name"])
            store.upsert_job(JobState(info=info, source="cli", added_at=now, next_poll_at=now))


async def polling(state: Path, events: int = 15, within: float = 30.0) -> None:
    """Wait until the daemon committed ``events`` events (it is running and writing)."""
    with anyio.fail_after(within):
        while read_state(state, "SELECT COUNT(*) FROM events")[0][0] < events:
            await anyio.sleep(0.1)


def assert_clear_stop(daemon: Daemon, code: int, *words: str) -> None:
    log = daemon.log_text()
    assert code == 1, f"exit {code}; log:\n{log[-3000:]}"
    assert "Traceback" not in log and "ExceptionGroup" not in log, log[-3000:]
    lines = [line for line in log.splitlines() if line.startswith("jobwatch: state file")]
    assert lines, f"no clear error line; log:\n{log[-3000:]}"
    assert any(all(word in line for word in words) for line in lines), lines
    print(f"\nexit {code}: {lines[-1]}")


async def test_a_full_disk_stops_the_daemon_with_a_clear_error(sim: Any, small_fs: SmallFs, make_daemon: Any) -> None:
    state = small_fs.path / "state.db"
    busy_jobs(sim.control, state)
    daemon = make_daemon(daemon_config(sim.url, state, watcher=QUICK))
    daemon.start()
    await polling(state)
    assert small_fs.fill() > 0
    code = await daemon.exited(within=30)
    assert_clear_stop(daemon, code, str(state), "full")


async def test_a_read_only_filesystem_at_start_is_a_clear_error(sim: Any, small_fs: SmallFs, make_daemon: Any) -> None:
    state = small_fs.path / "state.db"
    busy_jobs(sim.control, state)
    small_fs.read_only()
    daemon = make_daemon(daemon_config(sim.url, state))
    daemon.start()
    code = await daemon.exited(within=30)
    assert_clear_stop(daemon, code, str(state))


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[Any]:
    """``immutable(*paths)`` sets ``chattr +i``; undone at the end. Skipped where chattr cannot be used."""
    probe = tmp_path / "chattr-probe"
    probe.touch()
    done = subprocess.run(["chattr", "+i", str(probe)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i does not work here ({done.stderr.decode().strip()}); cannot make a file read-only")
    subprocess.run(["chattr", "-i", str(probe)], check=True)
    marked: list[Path] = []

    def mark(*paths: Path) -> None:
        for path in paths:
            subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
            marked.append(path)

    yield mark
    for path in marked:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


async def test_a_state_file_made_read_only_while_running_stops_the_daemon(
    sim: Any, make_daemon: Any, tmp_path: Path, immutable: Any
) -> None:
    state = tmp_path / "state.db"
    busy_jobs(sim.control, state)
    daemon = make_daemon(daemon_config(sim.url, state, watcher=QUICK))
    daemon.start()
    await polling(state)
    immutable(state, Path(f"{state}-wal"))
    code = await daemon.exited(within=30)
    assert_clear_stop(daemon, code, str(state))
