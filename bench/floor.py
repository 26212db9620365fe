"""Floor and alternatives: CPU per get_job call of (a) a bare aiobotocore loop, (b) jobwatch's engine and
(c) boto3 with one thread per job (botocore's Deadline ``JobComplete`` waiter, a plain poll loop for the other
services), the same number of calls each, in one run.

    .venv/bin/python bench/floor.py [--calls 20000] [--jobs 200] [--concurrency 32] [--quick]

The simulator runs in its own process with J jobs (J/5 per service) that never end; each way runs in a fresh
process that warms up (first call of every client, every job's baseline), then measures its own CPU
(``time.process_time()``: all threads) over exactly the same number of calls, all running flat out:

- (a) the floor: C asyncio tasks sharing one aiobotocore client per service (the engine's client settings
  but botocore's own User-Agent, as a user's loop would have it), calling the jobs round robin;
- (a') the same loop with the engine's fixed User-Agent (watcher.clients.USER_AGENT): b/a' is the engine's
  own overhead;
- (b) the engine (``watcher.engine.Engine`` with the daemon's notifier, a real state file), ``max_in_flight``
  C, every job due at once (interval 10 ms, rate limit 1000/s per service): scheduling, token buckets,
  adapters, the differ and the batched state writes included;
- (c) boto3 clients (one per service, shared), J threads, one per job: ``get_waiter("job_complete").wait(...)``
  for Deadline jobs (Delay 0, MaxAttempts k), ``while``-loops over ``get_job``/``describe_job`` checking the
  status for the others.

Prints CPU ms per call and the ratios b/a and c/b; ``--write`` updates the ``daemon/floor:`` line of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _support import BENCH, PYTHON, READ_CALL, aws_env, machine, simulator, table, use_aws_env

from watcher.model import SERVICES, JobInfo, JobRef
from watcher.services import adapter_for

REGIONS = {"devicefarm": "us-west-2"}
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "CANCELED", "SUCCEED", "DELETION_IN_PROGRESS"}


def targets(jobs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(service, keyword arguments of its read call) per job, as the engine's adapters build them."""
    return [(j["service"], adapter_for(j["service"]).request(j["params"])) for j in jobs]


# -- (a) the floor -----------------------------------------------------------------------------------


async def bare(
    url: str, jobs: list[dict[str, Any]], calls: int, concurrency: int, user_agent: str | None = None
) -> dict[str, float]:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    config = AioConfig(  # as watcher.clients.ClientPool makes them
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=concurrency,
        connect_timeout=10.0,
        read_timeout=20.0,
        inject_host_prefix=False,
        user_agent_extra="jobwatch",
        user_agent=user_agent,
    )
    session = get_session()
    work = targets(jobs)
    clients: dict[str, Any] = {}
    for service in SERVICES:
        maker = session.create_client(
            service, region_name=REGIONS.get(service, "us-east-1"), endpoint_url=url, config=config
        )
        clients[service] = await maker.__aenter__()
    for service, kwargs in work:  # warm-up: every job once (first calls of a client are slow)
        await getattr(clients[service], READ_CALL[service])(**kwargs)
    remaining = calls
    cursor = 0

    async def worker() -> None:
        nonlocal remaining, cursor
        while remaining > 0:
            remaining -= 1
            service, kwargs = work[cursor % len(work)]
            cursor += 1
            await getattr(clients[service], READ_CALL[service])(**kwargs)

    import asyncio

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    for client in clients.values():
        await client.__aexit__(None, None, None)
    return {"calls": calls, "cpu": cpu, "wall": wall}


# -- (b) the engine ----------------------------------------------------------------------------------


async def engine(url: str, jobs: list[dict[str, Any]], calls: int, concurrency: int) -> dict[str, float]:
    import anyio

    from watcher import logging as jlogging
    from watcher.config import Settings
    from watcher.daemon import build
    from watcher.store import JobState, Store

    jlogging.configure("warning", "json", open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    workdir = Path(tempfile.mkdtemp(prefix="jobwatch-floor-"))
    settings = Settings.model_validate(
        {
            "watcher": {
                "state": str(workdir / "floor.db"),
                "poll_interval": 0.01,
                "max_poll_interval": 0.01,
                "stuck_after": 0,
                "max_in_flight": concurrency,
            },
            "aws": {"region": "us-east-1", "endpoint_url": url, "max_pool_connections": concurrency},
            "services": {s: {"rate_limit": 1000} for s in SERVICES},
            "api": {"enabled": False},
        }
    )
    result: dict[str, float] = {}
    with Store.open(settings.watcher.state) as store:
        now = time.time()
        for job in jobs:
            info = JobInfo(ref=JobRef(job["service"], job["params"]), name=job["name"])
            store.upsert_job(JobState(info=info, source="api", added_at=now, next_poll_at=now))
        eng, _ = build(settings, store)

        async def measure() -> None:
            await eng.ready.wait()
            while eng.calls_ok < 2 * len(jobs):  # warm-up: every baseline committed, clients warm
                await anyio.sleep(0.005)
            start_calls, cpu, wall = eng.calls_ok, time.process_time(), time.perf_counter()
            while eng.calls_ok < start_calls + calls:
                await anyio.sleep(0.005)
            result.update(
                calls=eng.calls_ok - start_calls, cpu=time.process_time() - cpu, wall=time.perf_counter() - wall
            )
            eng.stop()

        await eng.run(measure)
    return result


# -- (c) boto3, one thread per job -------------------------------------------------------------------


def threads(url: str, jobs: list[dict[str, Any]], calls: int, concurrency: int) -> dict[str, float]:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import WaiterError

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=len(jobs),
        inject_host_prefix=False,
    )
    session = boto3.session.Session()
    clients = {
        s: session.client(s, region_name=REGIONS.get(s, "us-east-1"), endpoint_url=url, config=config) for s in SERVICES
    }
    work = targets(jobs)
    for service, kwargs in work:  # warm-up, as for the others
        getattr(clients[service], READ_CALL[service])(**kwargs)
    per_thread = calls // len(work)
    start = threading.Barrier(len(work) + 1)

    def status(service: str, answer: dict[str, Any]) -> str | None:
        if service == "braket":
            return answer.get("status")
        if service == "amplify":
            return answer["job"]["summary"]["status"]
        return answer["job"]["status"]

    def watch(service: str, kwargs: dict[str, Any]) -> None:
        client = clients[service]
        start.wait()
        if service == "deadline":
            waiter = client.get_waiter("job_complete")
            with contextlib.suppress(WaiterError):  # the job never ends: the waiter gives up after MaxAttempts
                waiter.wait(**kwargs, WaiterConfig={"Delay": 0, "MaxAttempts": per_thread})
            return
        call = getattr(client, READ_CALL[service])
        for _ in range(per_thread):
            if status(service, call(**kwargs)) in TERMINAL:
                return

    pool = [threading.Thread(target=watch, args=item) for item in work]
    for thread in pool:
        thread.start()
    cpu, wall = time.process_time(), time.perf_counter()
    start.wait()
    for thread in pool:
        thread.join()
    return {"calls": per_thread * len(work), "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}


# -- the run -----------------------------------------------------------------------------------------


def child(mode: str, url: str, jobs_file: str, calls: int, concurrency: int) -> None:
    """One way, in this (fresh) process; prints its result as JSON."""
    import asyncio

    use_aws_env()
    jobs = json.loads(Path(jobs_file).read_text())
    if mode == "bare":
        result = asyncio.run(bare(url, jobs, calls, concurrency))
    elif mode == "bare-ua":
        from watcher.clients import USER_AGENT

        result = asyncio.run(bare(url, jobs, calls, concurrency, USER_AGENT))
    elif mode == "engine":
        result = asyncio.run(engine(url, jobs, calls, concurrency))
    else:
        result = threads(url, jobs, calls, concurrency)
    print(json.dumps(result))


def run_mode(mode: str, url: str, jobs_file: Path, calls: int, concurrency: int) -> dict[str, float]:
    out = subprocess.run(
        [
            PYTHON,
            str(BENCH / "floor.py"),
            "--child",
            mode,
            "--url",
            url,
            "--jobs-file",
            str(jobs_file),
            "--calls",
            str(calls),
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        env=aws_env(),
        timeout=900,
    )
    if out.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def write_ratio(ratio: float) -> None:
    path = BENCH / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    line = f"daemon/floor: {ratio:.2f}"
    text, found = re.subn(r"^daemon/floor: .*$", line, text, flags=re.MULTILINE)
    if not found:
        text = f"{line}\n\n{text}"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=None, help="calls per way (default 20000, quick 5000)")
    parser.add_argument("--jobs", type=int, default=200, help="simulated jobs = boto3 threads (default 200)")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight for (a) and (b) (default 32)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write", action="store_true", help="update the daemon/floor line of bench/RESULTS.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--jobs-file", help=argparse.SUPPRESS)
    options = parser.parse_args()
    calls = options.calls or (5000 if options.quick else 20000)
    if options.child:
        child(options.child, options.url, options.jobs_file, calls, options.concurrency)
        return
    calls -= calls % options.jobs  # the threads split the calls evenly
    print(machine())
    print(
        f"{calls} calls per way over {options.jobs} jobs (5 services); (a)/(b) {options.concurrency} in flight, "
        f"(c) {options.jobs} threads",
        flush=True,
    )
    spec = [{"service": SERVICES[i % 5], "name": f"floor-{i:04d}", "script": []} for i in range(options.jobs)]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="jobwatch-floor-") as tmp, simulator(spec, Path(tmp)) as sim:
        jobs_file = Path(tmp) / "jobs.json"
        jobs_file.write_text(json.dumps(sim.jobs))
        for mode in ("bare", "bare-ua", "engine", "threads"):
            results[mode] = run_mode(mode, sim.url, jobs_file, calls, options.concurrency)
            print(f"  {mode}: {results[mode]}", flush=True)
    per = {m: r["cpu"] / r["calls"] * 1000 for m, r in results.items()}
    names = {
        "bare": "(a) bare aiobotocore loop (floor)",
        "bare-ua": "(a') bare loop, the engine's client config (fixed User-Agent)",
        "engine": "(b) jobwatch engine",
        "threads": f"(c) boto3, {options.jobs} threads (waiter / poll loop)",
    }
    rows = [
        [names[m], int(r["calls"]), r["cpu"], per[m], r["calls"] / r["wall"], r["cpu"] / r["wall"]]
        for m, r in results.items()
    ]
    print()
    print(table(["way", "calls", "CPU s", "CPU ms/call", "calls/s", "cores busy"], rows))
    ratio_ba, ratio_cb = per["engine"] / per["bare"], per["threads"] / per["engine"]
    ratio_engine = per["engine"] / per["bare-ua"]
    print(
        f"\nb/a (daemon/floor) = {ratio_ba:.2f}; c/b (threads/daemon) = {ratio_cb:.2f}; "
        f"b/a' (the engine's own overhead, same client config) = {ratio_engine:.2f}"
    )
    if options.write:
        write_ratio(ratio_ba)
        print(f"bench/RESULTS.md: daemon/floor: {ratio_ba:.2f}")


if __name__ == "__main__":
    sys.exit(main())
