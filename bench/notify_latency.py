"""Notification latency: from a poll's answer to the apprise call returning, for a local ``json://`` receiver.

    .venv/bin/python bench/notify_latency.py [--jobs 200] [--quick]

The engine and notifier run in this process as the daemon builds them (logging JSON at info to /dev/null);
the simulator runs in its own process; the receiver is an aiohttp server in a thread of this process that
answers 200 at once and stamps each request's arrival. Every phase change is routed to the receiver.

- "answer -> apprise returned": the notifier's result hook reports, per send, the time from the outbox row's
  creation (stamped when the poll's answer was read, in the same transaction as the event) to apprise's
  return (``Dispatcher`` on_result);
- "answer -> at receiver": the receiver's arrival stamp minus the event's time in the state file.

Two shapes: "spread" (changes one every 25 ms: each notice meets an idle channel) and "burst" (every job
ends at the same instant: the notices queue on the one channel, which sends them one by one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _support import ENDS, RUNNING, machine, percentile, simulator, table, use_aws_env
from aiohttp import web

from watcher.model import SERVICES, JobInfo, JobRef


class Receiver:
    """An aiohttp receiver in its own thread and loop; ``arrivals``: (job key, phase, epoch seconds)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, str, float]] = []
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.time()
        body = await request.json()
        key, _, phase = str(body.get("message", "")).strip().rpartition("|")
        self.arrivals.append((key, phase, arrived))
        return web.Response(text="ok")

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def __enter__(self) -> Receiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def spec(n: int, shape: str) -> list[dict[str, Any]]:
    """Jobs that run after 1-2 s and end: one every 25 ms (spread) or all at 5 s (burst)."""
    jobs = []
    for i in range(n):
        service = SERVICES[i % len(SERVICES)]
        end = sorted(ENDS[service])[i % len(ENDS[service])]
        running = 1.0 + (i * 0.025 if shape == "spread" else 0.0)
        ends = running + 4.0 if shape == "spread" else 5.0
        jobs.append({"service": service, "name": f"lat-{i:04d}", "script": [
            {"at": running, "fields": RUNNING[service]}, {"at": ends, "fields": ENDS[service][end]}]})  # fmt: skip
    return jobs


async def run_engine(url: str, jobs: list[dict[str, Any]], port: int, workdir: Path) -> list[float]:
    import anyio

    from watcher import logging as jlogging
    from watcher.config import Settings
    from watcher.engine import Engine
    from watcher.notify import Notifier
    from watcher.store import JobState, Store

    jlogging.configure("info", "json", open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    settings = Settings.model_validate(
        {
            "watcher": {"state": str(workdir / "state.db"), "poll_interval": 1.0, "max_poll_interval": 1.0,
                        "stuck_after": 0},
            "aws": {"region": "us-east-1", "endpoint_url": url},
            "services": {s: {"rate_limit": 300} for s in SERVICES},
            "api": {"enabled": False},
            "channels": [{"name": "hook", "url": f"json://127.0.0.1:{port}/hook", "format": "text",
                          "body": "{{ job.key }}|{{ phase }}"}],
            "routes": [{"channels": ["hook"], "when": {"kind": ["phase"]}}],
        }
    )  # fmt: skip
    latencies: list[float] = []

    def on_result(channel: str, outcome: str, rows: int, latency: float | None) -> None:
        if outcome == "sent" and latency is not None:
            latencies.extend([latency] * rows)

    with Store.open(settings.watcher.state) as store:
        now = time.time()
        for job in jobs:
            info = JobInfo(ref=JobRef(job["service"], job["params"]), name=job["name"])
            store.upsert_job(JobState(info=info, source="api", added_at=now, next_poll_at=now))
        engine = Engine(settings, store, Notifier.from_settings(settings, on_result=on_result))

        async def until_done() -> None:
            await engine.ready.wait()
            with anyio.move_on_after(120):
                while engine.watched() or store.outbox_depth():
                    await anyio.sleep(0.1)
            engine.stop()

        await engine.run(until_done)
    return latencies


def event_times(state: Path) -> dict[tuple[str, str], float]:
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT job_key, at, event FROM events WHERE kind = 'phase'").fetchall()
    return {(key, json.loads(raw)["new"]): at for key, at, raw in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=None, help="jobs per shape (default 200, quick 50)")
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    n = options.jobs or (50 if options.quick else 200)
    use_aws_env()
    print(machine(), flush=True)
    rows = []
    for shape in ("spread", "burst"):
        with tempfile.TemporaryDirectory(prefix="jobwatch-latency-") as tmp, Receiver() as receiver:
            workdir = Path(tmp)
            with simulator(spec(n, shape), workdir) as sim:
                returned = asyncio.run(run_engine(sim.url, sim.jobs, receiver.port, workdir))
            events = event_times(workdir / "state.db")
            arrived = [at - events[(key, phase)] for key, phase, at in receiver.arrivals if (key, phase) in events]
        for what, values in (("answer -> at receiver", arrived), ("answer -> apprise returned", returned)):
            rows.append([shape, what, len(values), *(percentile(values, q) * 1000 for q in (0.5, 0.99)),
                         max(values) * 1000])  # fmt: skip
        print(f"  {shape}: {len(returned)} sent, {len(receiver.arrivals)} received", flush=True)
    print()
    print(table(["shape", "from the poll's answer", "notices", "p50 ms", "p99 ms", "max ms"], rows))


if __name__ == "__main__":
    main()
