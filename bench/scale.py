"""Scale: `jobwatch run` watching 1,000 / 5,000 / 10,000 simulated jobs from queued to their end.

    .venv/bin/python bench/scale.py [--sizes 1000,5000,10000] [--quick] [--scale 1.0]

Each size: a simulator process preloaded with N scripted jobs (queued, running, progress, then succeeded,
failed or cancelled, a few minutes in all), a state file with the N jobs, and the daemon as a subprocess
(`jobwatch run -c bench.toml`, the local API on, no notification channel: bench/notify_latency.py measures
delivery). Measured from the daemon's first request to the last job's end:

- polls/s and daemon CPU seconds per poll (/proc/PID/stat, all threads), peak RSS (VmHWM) and RSS per job
  (above a daemon watching 5 jobs);
- detection lateness: the event's time (stamped at its commit) minus the scripted change's time
  (the job's creation plus the script offset), over every phase change, p50/p95/p99/max;
- missed transitions (a scripted phase change with no event; must be 0) and false ones (any other phase,
  error or vanished event);
- the busiest one-second window per service at the simulator against its configured rate limit.

Every state lasts several poll intervals, so a missed transition is the daemon's fault, never bad luck.
``--quick`` runs 500 / 1,000 / 2,000 jobs with lifecycles at 40 % (about a minute per size).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _support import (
    ENDS,
    JOBWATCH,
    PROGRESS,
    PYTHON,
    RUNNING,
    SimProcess,
    aws_env,
    cpu_seconds,
    machine,
    memory_kb,
    percentile,
    simulator,
    stop,
    table,
)

from watcher.model import SERVICES, JobInfo, JobRef
from watcher.store import JobState, Store

# the daemon under cProfile with a CPU-time clock (waiting is not cost); the profile is written at exit
PROFILED = """import cProfile, sys, time
from watcher.cli import main
profile = cProfile.Profile(time.process_time)
profile.enable()
try:
    main(sys.argv[2:])
finally:
    profile.disable()
    profile.dump_stats(sys.argv[1])
"""


def lifecycle_spec(n: int, scale: float, rng: random.Random, *, ending: bool = True) -> list[dict[str, Any]]:
    """N jobs round-robin over the services: queued 40-60 s, running 60-120 s (times ``scale``), then an end."""
    spec = []
    for i in range(n):
        service = SERVICES[i % len(SERVICES)]
        script: list[dict[str, Any]] = []
        if ending:
            queued = rng.uniform(40, 60) * scale
            running = rng.uniform(60, 120) * scale
            end = rng.choice(sorted(ENDS[service]))
            script = [
                {"at": round(queued, 3), "fields": RUNNING[service]},
                {"at": round(queued + running / 2, 3), "fields": PROGRESS[service]},
                {"at": round(queued + running, 3), "fields": ENDS[service][end]},
            ]
        spec.append({"service": service, "name": f"bench-{i:05d}", "script": script, "end": ending and end})
    return spec


def write_state(path: Path, jobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The state file with every job registered (as `jobwatch add` would), due now. Returns jobs by key."""
    by_key = {}
    now = time.time()
    with Store.open(path) as store:
        for job in jobs:
            info = JobInfo(ref=JobRef(job["service"], job["params"]), name=job["name"])
            store.upsert_job(JobState(info=info, source="api", added_at=now, next_poll_at=now))
            by_key[info.key] = job
    return by_key


def write_config(path: Path, sim_url: str, state: Path, options: argparse.Namespace) -> None:
    services = "\n".join(f"[services.{s}]\nrate_limit = {options.rate_limit}\n" for s in SERVICES)
    path.write_text(
        f"""
[watcher]
state = "{state}"
poll_interval = "{options.interval}s"
max_poll_interval = "{options.max_interval}s"
stuck_after = 0
max_in_flight = 32
log_format = "json"

[aws]
region = "us-east-1"
endpoint_url = "{sim_url}"
max_pool_connections = 32

[api]
listen = "127.0.0.1:0"

{services}
"""
    )


def run_daemon(
    sim: SimProcess, config: Path, state: Path, log_path: Path, deadline: float, profile: Path | None = None
) -> dict[str, Any]:
    """Start `jobwatch run`, wait until every job is done (or ``deadline``), stop it; what was measured."""
    control = sim.control
    control.reset()
    with log_path.open("w") as log:
        started = time.time()
        command = [JOBWATCH, "run", "-c", str(config)]
        if profile is not None:  # cProfile writes its file when the daemon exits after SIGTERM
            command = [PYTHON, "-c", PROFILED, str(profile), "run", "-c", str(config)]
        daemon = subprocess.Popen(command, stderr=log, env=aws_env())
        try:
            # first poll: the simulator's first counted request
            while control.stats()["totals"]["requests"] == 0:
                if daemon.poll() is not None:
                    raise SystemExit(f"the daemon exited with {daemon.returncode}; see {log_path}")
                time.sleep(0.02)
            first_poll = time.time()
            cpu_first = cpu_seconds(daemon.pid)
            db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
            remaining = -1
            while time.time() < deadline:
                remaining = db.execute("SELECT COUNT(*) FROM jobs WHERE done = 0").fetchone()[0]
                if remaining == 0 or daemon.poll() is not None:
                    break
                time.sleep(0.5)
            db.close()
            ended = time.time()
            cpu_end = cpu_seconds(daemon.pid)
            memory = memory_kb(daemon.pid)
            stats = control.stats()
        finally:
            code = stop(daemon)
    return {
        "startup_s": first_poll - started,
        "cpu_startup": cpu_first,
        "cpu_run": cpu_end - cpu_first,
        "seconds": ended - first_poll,
        "rss_peak_kb": memory["VmHWM"],
        "stats": stats,
        "remaining": remaining,
        "exit": code,
    }


def analyse(state: Path, by_key: dict[str, dict[str, Any]], spec: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Lateness, missed and false transitions from the state file's events against the scripts."""
    seen: dict[str, dict[str, float]] = defaultdict(dict)
    false: list[tuple[str, str, Any]] = []
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as db:
        for key, kind, at, raw in db.execute("SELECT job_key, kind, at, event FROM events ORDER BY id"):
            if kind in ("phase",):
                new = json.loads(raw)["new"]
                seen[key].setdefault(new, at)
            elif kind in ("error", "vanished", "stuck"):
                false.append((key, kind, json.loads(raw)["summary"]))
    lateness: list[float] = []
    missed = []
    for key, job in by_key.items():
        script = spec[job["name"]]
        expected = [("running", script["script"][0]["at"]), (script["end"], script["script"][-1]["at"])]
        for phase, offset in expected:
            at = seen[key].pop(phase, None)
            if at is None:
                missed.append((key, phase))
            else:
                lateness.append(at - (job["created_wall"] + offset))
        for phase in seen[key]:
            false.append((key, "phase", phase))
    return {"lateness": lateness, "missed": missed, "false": false}


def baseline_rss(workdir: Path, options: argparse.Namespace) -> int:
    """Peak RSS of a daemon watching 5 jobs (one per service) for a few seconds."""
    spec = lifecycle_spec(5, 1.0, random.Random(0), ending=False)
    with simulator(spec, workdir) as sim:
        state, config = workdir / "base.db", workdir / "base.toml"
        write_state(state, sim.jobs)
        write_config(config, sim.url, state, options)
        result = run_daemon(sim, config, state, workdir / "base.log", time.time() + 4)
    return int(result["rss_peak_kb"])


def run_size(n: int, options: argparse.Namespace, workdir: Path, base_kb: int) -> dict[str, Any]:
    rng = random.Random(n)
    spec = lifecycle_spec(n, options.scale, rng)
    with simulator(spec, workdir) as sim:
        state, config = workdir / f"scale-{n}.db", workdir / f"scale-{n}.toml"
        by_key = write_state(state, sim.jobs)
        write_config(config, sim.url, state, options)
        last_change = max(j["created_wall"] + s["script"][-1]["at"] for j, s in zip(sim.jobs, spec, strict=True))
        deadline = last_change + 3 * options.max_interval + 30
        profile = Path(options.profile).with_suffix(f".{n}.prof") if options.profile else None
        run = run_daemon(sim, config, state, workdir / f"scale-{n}.log", deadline, profile)
    found = analyse(state, by_key, {s["name"]: s for s in spec})
    stats = run["stats"]
    polls = stats["totals"]["requests"]
    peak = max(stats["peak_rps"].values()) if stats["peak_rps"] else 0
    late = found["lateness"]
    return {
        "jobs": n,
        "polls": polls,
        "polls_s": polls / run["seconds"],
        "cpu_ms_poll": run["cpu_run"] / polls * 1000 if polls else float("nan"),
        "cpu_share": run["cpu_run"] / run["seconds"],
        "rss_mb": run["rss_peak_kb"] / 1024,
        "rss_kb_job": (run["rss_peak_kb"] - base_kb) / n,
        "late": [percentile(late, q) for q in (0.5, 0.95, 0.99)] + [max(late) if late else float("nan")],
        "transitions": len(late) + len(found["missed"]),
        "missed": len(found["missed"]),
        "false": len(found["false"]),
        "peak": peak,
        "throttles": stats["totals"]["throttles"],
        "startup_s": run["startup_s"],
        "seconds": run["seconds"],
        "remaining": run["remaining"],
        "exit": run["exit"],
        "examples": (found["missed"][:3], found["false"][:3]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None, help="comma-separated job counts (default 1000,5000,10000)")
    parser.add_argument("--quick", action="store_true", help="500,1000,2000 jobs, lifecycles at 40 %%")
    parser.add_argument("--scale", type=float, default=None, help="stretch the lifecycles (default 1, quick 0.4)")
    parser.add_argument("--interval", type=float, default=None, help="base poll interval s (default 10, quick 4)")
    parser.add_argument("--max-interval", type=float, default=None, help="interval cap s (default 30, quick 12)")
    parser.add_argument("--rate-limit", type=float, default=300.0, help="requests/s per service (default 300)")
    parser.add_argument("--profile", metavar="PATH", help="profile the daemon's CPU, writing PATH.<jobs>.prof")
    options = parser.parse_args()
    quick = options.quick
    sizes = [int(s) for s in (options.sizes or ("500,1000,2000" if quick else "1000,5000,10000")).split(",")]
    options.scale = options.scale or (0.4 if quick else 1.0)
    options.interval = options.interval or (4.0 if quick else 10.0)
    options.max_interval = options.max_interval or (12.0 if quick else 30.0)

    print(machine())
    print(
        f"lifecycles: queued {40 * options.scale:.0f}-{60 * options.scale:.0f} s, running "
        f"{60 * options.scale:.0f}-{120 * options.scale:.0f} s; poll interval {options.interval:g} s stretching "
        f"x1.5 to {options.max_interval:g} s; rate limit {options.rate_limit:g}/s per service; max_in_flight 32",
        flush=True,
    )
    rows, late_rows, notes = [], [], []
    with tempfile.TemporaryDirectory(prefix="jobwatch-scale-") as tmp:
        workdir = Path(tmp)
        base_kb = baseline_rss(workdir, options)
        for n in sizes:
            r = run_size(n, options, workdir, base_kb)
            print(
                f"  {n} jobs: {r['polls']} polls in {r['seconds']:.0f} s, missed {r['missed']}, "
                f"false {r['false']}, exit {r['exit']}",
                flush=True,
            )
            rows.append(
                [
                    n,
                    r["polls_s"],
                    r["cpu_ms_poll"],
                    f"{r['cpu_share'] * 100:.0f} %",
                    r["rss_mb"],
                    r["rss_kb_job"],
                    f"{r['peak']} / {options.rate_limit:g}",
                    r["startup_s"],
                ]
            )
            late_rows.append([n, r["transitions"], *r["late"], r["missed"], r["false"]])
            if r["missed"] or r["false"] or r["remaining"]:
                notes.append(f"{n} jobs: {r['remaining']} not done; examples {r['examples']}")
    print()
    print(
        table(
            [
                "jobs",
                "polls/s",
                "CPU ms/poll",
                "CPU (1 core)",
                "peak RSS MB",
                "RSS KB/job",
                "peak req/s per service / limit",
                "start to 1st poll s",
            ],
            rows,
        )
    )
    print(f"(RSS per job: peak RSS above a daemon watching 5 jobs, {base_kb / 1024:.0f} MB)")
    print()
    print(
        table(
            ["jobs", "phase changes", "late p50 s", "p95 s", "p99 s", "max s", "missed", "false"],
            late_rows,
        )
    )
    for note in notes:
        print("NOTE:", note)


if __name__ == "__main__":
    main()
