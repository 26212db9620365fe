"""`jobwatch run` as a process: one terminal notification per job, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from watcher.store import Store

pytestmark = [pytest.mark.usefixtures("aws_env")]

ENDINGS = {
    "braket": {"status": "COMPLETED"},
    "iot": {"job": {"status": "COMPLETED"}},
    "deadline": {"taskRunStatus": "FAILED"},
    "amplify": {"job": {"summary": {"status": "CANCELLED"}}},
    "devicefarm": {"job": {"status": "COMPLETED", "result": "PASSED"}},
}


def _toml_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.anyio
async def test_run_delivers_one_terminal_notice_per_job_and_stops_cleanly_on_sigterm(
    sim: Any, tmp_path: Path, http_receiver: Any
) -> None:
    jobs_toml = []
    for service, ending in ENDINGS.items():
        entry = sim.control.add_job(service, f"{service}-nightly", [{"at": 0.5, "fields": ending}])
        params = "\n".join(f"{k} = {_toml_value(v)}" for k, v in entry["params"].items())
        jobs_toml.append(f'[[jobs]]\nservice = "{service}"\nname = "{service} nightly"\n{params}\n')
    config = tmp_path / "jobwatch.toml"
    config.write_text(
        f"""
[watcher]
state = "{tmp_path / "state.db"}"
poll_interval = "0.2s"
max_poll_interval = "0.5s"
log_format = "json"

[aws]
region = "us-east-1"
endpoint_url = "{sim.url}"

[api]
enabled = false

[[channels]]
name = "hook"
url = "{http_receiver.url("json")}"

[[routes]]
channels = ["hook"]
when = {{ phase = ["succeeded", "failed", "cancelled"] }}

"""
        + "\n".join(jobs_toml)
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "daemon.log").open("wb")
    async with await anyio.open_process(
        [sys.executable, "-m", "watcher.cli", "run", "--config", str(config)], env=env, stdout=log, stderr=log
    ) as daemon:
        await http_receiver.wait_for(5, within=30)
        await anyio.sleep(0.5)  # a repeat, if any, would arrive now
        daemon.send_signal(signal.SIGTERM)
        started = time.monotonic()
        with anyio.fail_after(5):
            code = await daemon.wait()
        stopped_in = time.monotonic() - started
    text = (tmp_path / "daemon.log").read_text()
    assert code == 0, text[-2000:]
    assert stopped_in < 5
    assert '"event": "engine.stopped"' in text
    bodies = [r["json"] for r in http_receiver.requests]
    assert len(bodies) == 5
    for service in ENDINGS:
        assert sum(f"{service} nightly" in b["title"] for b in bodies) == 1, service
    with Store.open(tmp_path / "state.db") as store:
        assert store.outbox_depth() == 0
        assert all(job.done for job in store.jobs())


@pytest.mark.anyio
async def test_a_bad_config_stops_the_daemon_before_it_starts(tmp_path: Path) -> None:
    config = tmp_path / "jobwatch.toml"
    config.write_text('[watcher]\nstate = "x.db"\nmax_in_flight = 0\n')
    done = await anyio.run_process(
        [sys.executable, "-m", "watcher.cli", "run", "--config", str(config)], check=False, cwd=tmp_path
    )
    assert done.returncode == 2
    assert f"{config}: watcher.max_in_flight: Input should be greater than or equal to 1" in done.stderr.decode()
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("after", [0.1, 0.3, 0.6])
def test_sigterm_while_starting_is_a_clean_stop(tmp_path: Path, after: float) -> None:
    import subprocess

    config = tmp_path / "jobwatch.toml"
    config.write_text(f'[watcher]\nstate = "{tmp_path / "s.db"}"\n[api]\nenabled = false\n')
    daemon = subprocess.Popen(
        [sys.executable, "-m", "watcher.cli", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(after)  # a moment inside start-up (imports, state file, engine start)
    daemon.send_signal(signal.SIGTERM)
    _, err = daemon.communicate(timeout=10)
    assert daemon.returncode == 0, err.decode()[-2000:]
