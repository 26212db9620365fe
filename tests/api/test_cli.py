"""`jobwatch add / list / remove` go through the running daemon's API, else the state file."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import anyio
import pytest

from watcher import cli
from watcher.apiclient import daemon_url, request
from watcher.config import load_settings
from watcher.errors import JobwatchError

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("aws_env")]


def write_config(tmp_path: Path, sim_url: str, port: int, token: str | None = None) -> Path:
    path = tmp_path / "jobwatch.toml"
    lines = [
        "[watcher]",
        f'state = "{tmp_path / "state.db"}"',
        'poll_interval = "200ms"',
        "[aws]",
        'region = "us-east-1"',
        f'endpoint_url = "{sim_url}"',
        "[api]",
        f'listen = "127.0.0.1:{port}"',
    ]
    if token:
        lines.append(f'token = "{token}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def jobwatch(*argv: str) -> int:
    """Run the CLI in a worker thread, so the daemon on this loop can answer it."""
    code: int = await anyio.to_thread.run_sync(cli.main, list(argv))
    return code


async def test_add_list_remove_through_the_running_daemon(
    sim: Any, tmp_path: Path, daemon_settings: Any, api_daemon: Any, wait_until: Any, capsys: Any
) -> None:
    arn = sim.control.add_job("braket", "qaoa-7", [{"at": 0, "fields": {"status": "RUNNING"}}])["params"]["jobArn"]
    async with api_daemon(daemon_settings()) as d:
        config = str(write_config(tmp_path, sim.url, d.server.port or 0))
        assert await jobwatch("add", "-c", config, "braket", f"jobArn={arn}", "--name", "QAOA", "--tag", "nightly") == 0
        assert "through the running daemon" in capsys.readouterr().out
        key = f"braket:{arn}"
        # watched at once by the running engine, not only written to the file
        assert [(s.key, s.info.name, s.info.tags, s.source) for s in d.engine.watched()] == [
            (key, "QAOA", ("nightly",), "api")
        ]
        await wait_until(lambda: d.engine.get(key).snapshot is not None, what="the first poll")
        assert await jobwatch("list", "-c", config, "--json") == 0
        rows = json.loads(capsys.readouterr().out)
        assert [(r["key"], r["phase"]) for r in rows] == [(key, "running")]

        assert await jobwatch("add", "-c", config, "braket", "jobArn=arn:aws:braket:us-east-1:1:job/x") == 2
        assert "jobArn" in capsys.readouterr().err
        assert len(d.engine.watched()) == 1

        assert await jobwatch("remove", "-c", config, key) == 0
        assert d.engine.watched() == []
        assert await jobwatch("remove", "-c", config, key) == 2
        assert f"no watched job {key!r}" in capsys.readouterr().err


async def test_without_a_daemon_the_cli_uses_the_state_file(
    sim: Any, tmp_path: Path, daemon_settings: Any, api_daemon: Any, capsys: Any
) -> None:
    arn = sim.control.add_job("braket", "offline", [{"at": 0, "fields": {"status": "RUNNING"}}])["params"]["jobArn"]
    port = free_port()
    config = write_config(tmp_path, sim.url, port)
    settings = load_settings(config)
    assert daemon_url(settings) is None
    assert await jobwatch("add", "-c", str(config), "braket", f"jobArn={arn}") == 0
    assert "the daemon polls it when it next starts" in capsys.readouterr().out
    assert await jobwatch("list", "-c", str(config), "--json") == 0
    assert [r["key"] for r in json.loads(capsys.readouterr().out)] == [f"braket:{arn}"]
    # the daemon started later picks it up from the same state file
    async with api_daemon(daemon_settings()) as d:
        assert [s.key for s in d.engine.watched()] == [f"braket:{arn}"]


async def test_the_cli_sends_the_token_and_reports_the_apis_refusal(
    sim: Any, tmp_path: Path, daemon_settings: Any, api_daemon: Any
) -> None:
    token = "cli-token-0123456789abcdef"
    async with api_daemon(daemon_settings(api={"token": token})) as d:
        port = d.server.port or 0
        good = load_settings(write_config(tmp_path, sim.url, port, token))
        base = await anyio.to_thread.run_sync(daemon_url, good)
        assert base == d.url
        answer = await anyio.to_thread.run_sync(request, good, "GET", f"{base}/jobs")
        assert answer == {"jobs": []}
        wrong = load_settings(write_config(tmp_path, sim.url, port, "not-the-token"))
        with pytest.raises(JobwatchError, match="bearer token") as refused:
            await anyio.to_thread.run_sync(request, wrong, "GET", f"{base}/jobs")
        assert "not-the-token" not in str(refused.value) and token not in str(refused.value)
        body = {"service": "braket", "params": {"jobArn": "bad"}}
        with pytest.raises(JobwatchError, match=r"params\.jobArn"):
            await anyio.to_thread.run_sync(request, good, "POST", f"{base}/jobs", body)
