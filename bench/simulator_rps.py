"""How many GetJob requests per second the simulator serves to concurrent aiobotocore callers.

The simulator runs in a subprocess (its own core, as in the benchmarks it serves); client processes each run
C concurrent callers sharing one aiobotocore client for S seconds, calling the read call of seeded jobs.

    .venv/bin/python bench/simulator_rps.py [--callers 64] [--seconds 5] [--service all] [--jobs 1000]
                                            [--processes 1]

Prints the client-side rate and latency, the simulator's own counts (GET /_sim/stats) and its CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import time
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from watcher.simulator.control import SimControl

CALLS = {
    "devicefarm": "get_job",
    "deadline": "get_job",
    "amplify": "get_job",
    "iot": "describe_job",
    "braket": "get_job",
}
REGIONS = {"devicefarm": "us-west-2"}


def start_simulator(jobs: int) -> tuple[subprocess.Popen[str], str]:
    """The simulator in a subprocess; returns it and its URL once it serves."""
    code = f"from watcher.simulator import serve; serve(port=0, jobs={jobs}, seed=1, time_scale=1000.0)"
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        for word in line.split():
            if word.startswith("http://127.0.0.1:"):
                return process, word.rstrip(",")
    raise SystemExit("the simulator did not start")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (Linux /proc), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


async def hammer(url: str, targets: list[tuple[str, dict[str, str]]], callers: int, seconds: float) -> dict[str, Any]:
    """``callers`` tasks calling the read call of ``targets`` round-robin for ``seconds``."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    config = AioConfig(
        inject_host_prefix=False, max_pool_connections=callers, retries={"mode": "standard", "total_max_attempts": 1}
    )
    session = get_session()
    services = sorted({service for service, _ in targets})
    clients = {
        s: await session.create_client(
            s, region_name=REGIONS.get(s, "us-east-1"), endpoint_url=url, config=config
        ).__aenter__()
        for s in services
    }
    latencies: list[float] = []
    errors = 0
    try:
        for service, params in targets[: len(services)]:  # warm up: first calls of a client are slow
            await getattr(clients[service], CALLS[service])(**params)
        deadline = time.monotonic() + seconds

        async def caller(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.monotonic() < deadline:
                service, params = targets[i % len(targets)]
                i += callers
                started = time.perf_counter()
                try:
                    await getattr(clients[service], CALLS[service])(**params)
                except Exception:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.monotonic()
        await asyncio.gather(*(caller(n) for n in range(callers)))
        elapsed = time.monotonic() - started
    finally:
        for client in clients.values():
            await client.__aexit__(None, None, None)
    return {"calls": len(latencies), "errors": errors, "elapsed": elapsed, "latencies": latencies}


def run_process(args: tuple[str, list[tuple[str, dict[str, str]]], int, float]) -> dict[str, Any]:
    return asyncio.run(hammer(*args))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--callers", type=int, default=64, help="concurrent callers per client process")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--service", default="all", choices=["all", *CALLS])
    parser.add_argument("--jobs", type=int, default=1000, help="seeded jobs in the simulator")
    parser.add_argument("--processes", type=int, default=1, help="client processes")
    options = parser.parse_args()

    process, url = start_simulator(options.jobs)
    try:
        control = SimControl(url)
        targets = [(e["service"], e["params"]) for e in control.jobs() if options.service in ("all", e["service"])]
        control.reset()
        cpu_before = cpu_seconds(process.pid)
        work = (url, targets, options.callers, options.seconds)
        if options.processes == 1:
            results = [run_process(work)]
        else:
            with multiprocessing.get_context("spawn").Pool(options.processes) as pool:
                results = pool.map(run_process, [work] * options.processes)
        cpu_after = cpu_seconds(process.pid)
        stats = control.stats()
    finally:
        process.terminate()
        process.wait(timeout=10)

    calls = sum(r["calls"] for r in results)
    errors = sum(r["errors"] for r in results)
    elapsed = max(r["elapsed"] for r in results)
    latencies = [x for r in results for x in r["latencies"]]
    served = stats["totals"]["requests"]
    print(
        f"simulator: {options.jobs} jobs, {os.cpu_count()} CPUs; clients: {options.processes} process(es) x "
        f"{options.callers} callers, service={options.service}, {options.seconds:.0f} s"
    )
    print(
        f"client side: {calls} calls, {errors} errors, {calls / elapsed:.0f} calls/s; "
        f"latency p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
    )
    peaks = ", ".join(f"{service} {rate}" for service, rate in stats["peak_rps"].items())
    print(f"simulator side: {served} requests counted; busiest one-second window per service: {peaks}")
    if cpu_before is not None and cpu_after is not None and served:
        busy = cpu_after - cpu_before
        print(
            f"simulator CPU: {busy:.2f} s for {served} requests = {busy / served * 1e6:.0f} us/request "
            f"(~{served / busy:.0f} req/s per core)"
        )


if __name__ == "__main__":
    main()
