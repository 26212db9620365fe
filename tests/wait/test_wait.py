"""`jobwatch wait` against the simulator: every outcome on every service, usage and access errors, notifications."""

from __future__ import annotations

import io
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

from watcher import cli
from watcher.config import Settings, load_settings
from watcher.model import JobInfo, JobRef
from watcher.simulator.scripts import ENDS, RUNNING
from watcher.wait import Outcome, Printer, wait_for, wait_settings

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("aws_env")]

JOBWATCH = str(Path(sys.executable).parent / "jobwatch")
CODES = {"succeeded": 0, "failed": 1, "cancelled": 3, "timeout": 4}


def sim_job(sim: Any, service: str, name: str, end: str | None) -> JobInfo:
    """A job running from 0.1 s, ending as ``end`` at 0.6 s (``None``: never)."""
    script = [{"at": 0.1, "fields": RUNNING[service]}]
    if end is not None:
        script.append({"at": 0.6, "fields": ENDS[service][end]})
    entry = sim.control.add_job(service, name, script)
    return JobInfo(ref=JobRef(service, entry["params"]))


def settings_at(endpoint: str, notify: list[str] | None = None) -> Settings:
    return wait_settings(
        load_settings(None, env={}), interval=0.2, notify=notify or [], region="us-east-1", endpoint_url=endpoint
    )


async def test_every_outcome_on_every_service_gives_its_exit_code(sim: Any) -> None:
    settings = settings_at(sim.url)
    cases = [(s, outcome) for s in RUNNING for outcome in CODES if outcome == "timeout" or outcome in ENDS[s]]
    results: dict[tuple[str, str], tuple[Outcome, str]] = {}

    async def one(service: str, outcome: str) -> None:
        info = sim_job(sim, service, f"{service}-{outcome}", None if outcome == "timeout" else outcome)
        out = io.StringIO()
        give_up = 2.0 if outcome == "timeout" else 20
        result = await wait_for(settings, info, give_up_after=give_up, printer=Printer(out, as_json=False))
        results[(service, outcome)] = (result, out.getvalue())

    # nineteen waits at once, each with its own engine, clients and in-memory state
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for service, outcome in cases:
                tg.start_soon(one, service, outcome)
    for (service, outcome), (result, text) in results.items():
        assert result.code == CODES[outcome], (service, outcome, result, text)
        if outcome == "timeout":
            assert result.word == "timeout" and result.phase in (None, "running"), (service, result)
        else:
            # the first poll may come after the end when twenty engines start at once: "-> x" or "already x"
            assert result.word == outcome and result.phase == outcome
            assert "watching" in text and f" {outcome}" in text.splitlines()[-1], (service, outcome, text)
    assert len(results) == 19
    failed = results[("braket", "failed")][0]
    assert failed.status == "FAILED" and failed.detail is not None and "out of memory" in failed.detail


def test_usage_errors_exit_2_before_any_call(capsys: Any) -> None:
    arn = "arn:aws:braket:us-east-1:123456789012:job/x"
    for argv, says in [
        (["wait", "braket", "jobArn=arn:aws:braket:nope"], "jobArn"),
        (["wait", "batch", "jobId=1"], "unknown service 'batch'"),
        (["wait", "braket", "just-a-value"], "is not key=value"),
        (["wait", "braket", f"jobArn={arn}", "--interval", "soon"], "not a duration"),
        (["wait", "braket", f"jobArn={arn}", "--timeout", "-5"], "negative"),
        (["wait", "braket", f"jobArn={arn}", "--interval", "0"], "more than 0"),
        (["wait", "braket", f"jobArn={arn}", "--notify", "nonsense://x"], "apprise does not recognise"),
    ]:
        assert cli.main(argv) == 2, argv
        assert says in capsys.readouterr().err, argv


async def test_a_job_that_does_not_exist_exits_2(sim: Any) -> None:
    info = JobInfo(ref=JobRef("braket", {"jobArn": "arn:aws:braket:us-east-1:123456789012:job/never-made"}))
    out = io.StringIO()
    with anyio.fail_after(10):
        result = await wait_for(settings_at(sim.url), info, give_up_after=8, printer=Printer(out, as_json=True))
    assert (result.code, result.word) == (2, "not found")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["kind"] for line in lines] == ["vanished"]


@asynccontextmanager
async def denying_aws() -> AsyncIterator[str]:
    """An endpoint that answers every call as AWS does when the credentials lack permission."""

    async def deny(request: web.Request) -> web.Response:
        return web.json_response(
            {"message": "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: braket:GetJob"},
            status=403,
            headers={"x-amzn-ErrorType": "AccessDeniedException"},
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", deny)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_access_denied_exits_2_at_once() -> None:
    info = JobInfo(ref=JobRef("braket", {"jobArn": "arn:aws:braket:us-east-1:123456789012:job/secret"}))
    async with denying_aws() as endpoint:
        with anyio.fail_after(10):
            result = await wait_for(
                settings_at(endpoint), info, give_up_after=60, printer=Printer(io.StringIO(), as_json=False)
            )
    assert (result.code, result.word) == (2, "error")
    assert result.detail is not None and result.detail.startswith("AccessDeniedException")


async def test_notifications_are_delivered_before_wait_returns(sim: Any, http_receiver: Any) -> None:
    info = sim_job(sim, "amplify", "release-build", "failed")
    settings = settings_at(sim.url, notify=[http_receiver.url("json")])
    http_receiver.set_status(503)  # the webhook is down when the job ends...

    async def recover() -> None:
        await http_receiver.wait_for(1)
        await anyio.sleep(2.5)  # ...and longer than the engine's own 2 s drain at shutdown
        http_receiver.set_status(200)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(recover)
            result = await wait_for(settings, info, give_up_after=25, printer=Printer(io.StringIO(), as_json=False))
    assert result.code == 1
    # the command returned only once the outbox was empty: the retried notice got through
    notices = [r["json"] for r in http_receiver.delivered()]
    assert any(n["type"] == "failure" and "failed" in (n["title"] + n["message"]).lower() for n in notices), notices


async def test_the_command_as_a_ci_step_prints_json_lines_and_exits_with_the_result(sim: Any) -> None:
    info = sim_job(sim, "deadline", "nightly-render", "cancelled")
    params = [f"{k}={v}" for k, v in info.ref.params.items()]
    argv = [JOBWATCH, "wait", "deadline", *params, "--interval", "200ms", "--timeout", "30s", "--json"]
    with anyio.fail_after(30):
        done = await anyio.run_process([*argv, "--endpoint-url", sim.url], check=False)
    assert done.returncode == 3, done.stderr.decode()
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert lines[0]["kind"] == "watching" and lines[0]["job"] == info.key
    assert lines[-1] == {
        "kind": "exit",
        "job": info.key,
        "outcome": "cancelled",
        "exit_code": 3,
        "phase": "cancelled",
        "status": "CANCELED",
        "detail": None,
    }


async def test_sigint_interrupts_the_wait_with_exit_130(sim: Any) -> None:
    info = sim_job(sim, "iot", "endless-rollout", None)
    argv = [JOBWATCH, "wait", "iot", f"jobId={info.ref.params['jobId']}", "--interval", "200ms"]
    with anyio.fail_after(30):
        async with await anyio.open_process([*argv, "--endpoint-url", sim.url]) as process:
            assert process.stdout is not None
            first = b""
            async for chunk in process.stdout:  # the first transition shows the wait is under way
                first += chunk
                if b"\n" in first:
                    break
            assert b"watching" in first
            process.send_signal(signal.SIGINT)
            code = await process.wait()
    assert code == 130
