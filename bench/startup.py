"""Startup: `jobwatch run` with 10,000 jobs in its state file, time to the first poll; `jobwatch --help`.

    .venv/bin/python bench/startup.py [--jobs 10000] [--runs 3] [--quick]

The state file holds N jobs, either never polled or already watched (each with a stored snapshot, as after a
restart);
the simulator (its own process) knows them all. Each run starts the daemon as a subprocess and reads the
simulator's request counter every 5 ms: "first poll" is the first request it counts, "all polled" the
moment it has counted N. The daemon's CPU up to the first poll comes from /proc. A daemon with one job
gives the floor (interpreter, imports, one client). ``jobwatch --help`` is timed over 20 runs
beside ``python -c pass``, and the slowest imports of ``watcher.cli`` are listed (``-X importtime``).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _support import (
    JOBWATCH,
    PYTHON,
    READ_CALL,
    SimProcess,
    aws_env,
    cpu_seconds,
    machine,
    simulator,
    stop,
    table,
    use_aws_env,
)

from watcher.model import SERVICES, JobInfo, JobRef, Snapshot
from watcher.services import adapter_for
from watcher.store import JobState, Store


async def sample_snapshots(sim: SimProcess) -> dict[str, Snapshot]:
    """One real snapshot per service: a real client's answer read by the service's adapter."""
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    use_aws_env()
    out = {}
    session = get_session()
    for job in sim.jobs[: len(SERVICES)]:
        service = job["service"]
        adapter = adapter_for(service)
        config = AioConfig(inject_host_prefix=False)
        region = "us-west-2" if service == "devicefarm" else "us-east-1"
        async with session.create_client(service, region_name=region, endpoint_url=sim.url, config=config) as c:
            answer = await getattr(c, READ_CALL[service])(**adapter.request(job["params"]))
        out[service] = adapter.read(answer)
    return out


def write_state(path: Path, jobs: list[dict[str, Any]], snapshots: dict[str, Snapshot] | None) -> None:
    """Every job registered and, with ``snapshots``, already polled once (its snapshot stored)."""
    now = time.time()
    with Store.open(path) as store:
        for job in jobs:
            info = JobInfo(ref=JobRef(job["service"], job["params"]), name=job["name"])
            state = JobState(info=info, source="api", added_at=now, next_poll_at=now)
            store.upsert_job(state)
            if snapshots is not None:
                state.snapshot = snapshots[job["service"]]
                state.last_poll_at = state.last_change_at = now
                state.next_poll_at = now + 30
                store.commit_poll(state, [], None, now)


def write_config(path: Path, sim_url: str, state: Path) -> None:
    services = "\n".join(f"[services.{s}]\nrate_limit = 1000\n" for s in SERVICES)
    path.write_text(
        f'[watcher]\nstate = "{state}"\nstuck_after = 0\nlog_format = "json"\n\n'
        f'[aws]\nregion = "us-east-1"\nendpoint_url = "{sim_url}"\n\n[api]\nlisten = "127.0.0.1:0"\n\n{services}'
    )


def start_once(sim: SimProcess, config: Path, expect: int, log: Path) -> dict[str, float]:
    """One daemon start: seconds to its first request and to ``expect`` requests; CPU up to the first."""
    control = sim.control
    control.reset()
    with log.open("w") as err:
        started = time.perf_counter()
        daemon = subprocess.Popen([JOBWATCH, "run", "-c", str(config)], stderr=err, env=aws_env())
        first = every = float("nan")
        cpu_first = float("nan")
        try:
            deadline = started + 120
            while time.perf_counter() < deadline and daemon.poll() is None:
                count = control.stats()["totals"]["requests"]
                if count and first != first:
                    first = time.perf_counter() - started
                    cpu_first = cpu_seconds(daemon.pid)
                if count >= expect:
                    every = time.perf_counter() - started
                    break
                time.sleep(0.005)
        finally:
            stop(daemon)
    return {"first": first, "every": every, "cpu_first": cpu_first}


def help_times(runs: int) -> tuple[float, float, float]:
    """Median seconds of `jobwatch --help`, `python -c pass`, and `python -c 'import watcher.cli'`."""

    def timed(command: list[str]) -> float:
        samples = []
        for _ in range(runs):
            begin = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
            samples.append(time.perf_counter() - begin)
        return statistics.median(samples)

    return timed([JOBWATCH, "--help"]), timed([PYTHON, "-c", "pass"]), timed([PYTHON, "-c", "import watcher.cli"])


def slowest_imports(module: str, count: int = 6) -> list[tuple[str, float]]:
    """The top-level imports under ``module`` with the largest cumulative import time (ms)."""
    out = subprocess.run([PYTHON, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True)
    rows = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if cumulative.isdigit():
            rows.append((name, int(cumulative) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=None, help="jobs in the state file (default 10000, quick 2000)")
    parser.add_argument("--runs", type=int, default=3, help="daemon starts per case (median reported)")
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    n = options.jobs or (2000 if options.quick else 10000)
    print(machine(), flush=True)
    rows = []
    spec = [{"service": SERVICES[i % 5], "name": f"start-{i:05d}", "script": []} for i in range(n)]
    with tempfile.TemporaryDirectory(prefix="jobwatch-startup-") as tmp, simulator(spec, Path(tmp)) as sim:
        workdir = Path(tmp)
        snapshots = asyncio.run(sample_snapshots(sim))
        cases = [
            ("1 job (the floor)", 1, None),
            (f"{n} jobs, never polled", n, None),
            (f"{n} jobs with snapshots (restart)", n, snapshots),
        ]
        for label, count, snaps in cases:
            template, state, config = workdir / "template.db", workdir / "state.db", workdir / "start.toml"
            template.unlink(missing_ok=True)
            begin = time.perf_counter()
            write_state(template, sim.jobs[:count], snaps)
            prepared = time.perf_counter() - begin
            write_config(config, sim.url, state)
            results = []
            for _ in range(options.runs):  # each start from the same file: a run's polls move next_poll_at
                shutil.copyfile(template, state)
                results.append(start_once(sim, config, count, workdir / "start.log"))
            rows.append(
                [
                    label,
                    statistics.median(r["first"] for r in results),
                    statistics.median(r["cpu_first"] for r in results),
                    statistics.median(r["every"] for r in results),
                    prepared,
                ]
            )
            print(f"  {label}: {results}", flush=True)
    print()
    print(
        table(
            [
                "state file",
                "start to 1st poll s",
                "CPU to 1st poll s",
                "start to all polled s",
                "writing the state file s",
            ],
            rows,
        )
    )
    jw, bare, imp = help_times(20)
    print()
    print(
        table(
            ["command", "median s"],
            [["jobwatch --help", jw], ["python -c pass", bare], ["python -c 'import watcher.cli'", imp]],
        )
    )
    print("\nslowest imports under watcher.cli (cumulative ms):", slowest_imports("watcher.cli"))
    print("slowest imports under watcher.daemon (cumulative ms):", slowest_imports("watcher.daemon"))


if __name__ == "__main__":
    main()
