"""`jobwatch demo`: the daemon's main job on the built-in simulator, printed to the terminal.

The simulator runs in-process with a seeded mix of jobs on all five services; the real engine
watches them through the real aiobotocore client, writes a throwaway state file, and routes every
event through the real notifier. The demo ends with a summary table once every job has ended
(continuous IoT jobs never end on their own and are not waited for), or on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from aiohttp import web

from watcher import logging as jlogging
from watcher.config import Settings
from watcher.durations import format_duration
from watcher.engine import Engine
from watcher.model import Event, EventKind, JobInfo, JobRef, Phase
from watcher.notify import Notifier
from watcher.store import JobState, Store

_COLOURS = {
    Phase.SUCCEEDED: "32",
    Phase.FAILED: "31",
    Phase.CANCELLED: "33",
    Phase.RUNNING: "36",
    Phase.QUEUED: "34",
    Phase.UNKNOWN: "35",
}


class Printer:
    """Readable, coloured (on a TTY) lines for events and the closing summary."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self.colour = hasattr(self.stream, "isatty") and self.stream.isatty() and "NO_COLOR" not in os.environ
        self.started = time.monotonic()

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text

    def events(self, state: JobState, events: Sequence[Event]) -> None:
        for event in events:
            phase = state.snapshot.phase if state.snapshot else Phase.UNKNOWN
            clock = f"{time.monotonic() - self.started:5.1f}s"
            service = f"{state.info.ref.service:<10}"
            name = f"{state.info.display_name[:28]:<28}"
            kind = self.paint(f"{event.kind.value:<11}", _COLOURS.get(phase, "0"))
            line = f"{clock}  {service} {name} {kind} {event.summary}"
            if event.kind in (EventKind.PROGRESS, EventKind.WATCHING):
                line = self.paint(line, "2")  # dim: context, not news
            print(line, file=self.stream, flush=True)

    def notification(self, payload: dict[str, Any]) -> None:
        """A notification as the json:// channel received it, boxed."""
        bar = self.paint("│", "1")
        print(
            f"       {self.paint('┌─ notification (' + str(payload.get('type')) + ')', '1')} "
            f"{self.paint(str(payload.get('title', '')), '1')}",
            file=self.stream,
        )
        for line in str(payload.get("message", "")).splitlines()[:12]:
            print(f"       {bar} {line}", file=self.stream)
        print(f"       {self.paint('└─', '1')}", file=self.stream, flush=True)

    def summary(self, states: Sequence[JobState], notes: dict[str, int]) -> None:
        rows = [("SERVICE", "JOB", "RESULT", "RAW STATUS", "RAN FOR", "NOTICES")]
        for state in states:
            snap = state.snapshot
            ran = "-"
            began = snap and (snap.started_at or snap.created_at)
            if snap and began and snap.ended_at:
                ran = format_duration((snap.ended_at - began).total_seconds())
            rows.append(
                (
                    state.info.ref.service,
                    state.info.display_name[:40],
                    snap.phase.value if snap else "-",
                    snap.status if snap else "-",
                    ran,
                    str(notes.get(state.key, 0)),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        print("", file=self.stream)
        for index, row in enumerate(rows):
            line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
            if index and self.colour:
                line = (
                    line.replace(row[2], self.paint(row[2], _COLOURS.get(Phase(row[2]), "0")), 1)
                    if row[2] in Phase._value2member_map_
                    else line
                )
            print(line, file=self.stream)


@asynccontextmanager
async def _receiver(printer: Printer, received: list[dict[str, Any]]) -> AsyncIterator[str]:
    """A local HTTP endpoint for apprise's json:// channel: real deliveries, printed as they arrive."""

    async def hook(request: web.Request) -> web.Response:
        payload = await request.json()
        received.append(payload)
        printer.notification(payload)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"json://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


def main(*, jobs: int = 15, seed: int = 7, time_scale: float = 1.0) -> int:
    """Run the demo; 0 when every job ended, 130 on Ctrl-C."""
    # The simulator takes any credentials; never reach for the user's real ones (SSO, IMDS) in a demo.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_REGION": "us-east-1",
        }
    )
    jlogging.configure("warning", "console")
    try:
        return anyio.run(_demo, jobs, seed, time_scale, backend="asyncio")
    except KeyboardInterrupt:
        return 130


async def _demo(jobs: int, seed: int, time_scale: float) -> int:
    from watcher.simulator import start_simulator

    printer = Printer()
    received: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="jobwatch-demo-") as tmp:
        async with (
            start_simulator(jobs=jobs, seed=seed, time_scale=time_scale) as sim,
            _receiver(printer, received) as hook_url,
        ):
            settings = Settings.model_validate(
                {
                    "watcher": {
                        "state": str(Path(tmp) / "demo.db"),
                        "poll_interval": "1s",
                        "max_poll_interval": "2s",
                        "stuck_after": "0",
                    },
                    "aws": {"region": "us-east-1", "endpoint_url": sim.url},
                    "services": {s: {"rate_limit": 25} for s in ("devicefarm", "deadline", "amplify", "iot", "braket")},
                    "api": {"enabled": False},
                    "channels": [{"name": "terminal", "url": hook_url}],
                    "routes": [
                        {
                            "channels": ["terminal"],
                            "when": {
                                "kind": ["phase", "step_failed", "stuck", "vanished", "error"],
                                "phase": ["succeeded", "failed", "cancelled"],
                            },
                        }
                    ],
                }
            )
            store = Store.open(settings.watcher.state)
            notifier = Notifier.from_settings(settings)
            engine = Engine(settings, store, notifier)
            engine.listeners.append(printer.events)
            entries = sim.state.entries()
            print(
                f"jobwatch demo: simulator at {sim.url}, watching {len(entries)} jobs on five services "
                "(Ctrl-C to stop)\n",
                flush=True,
            )
            for entry in entries:
                engine.add(JobInfo(ref=JobRef(entry["service"], entry["params"]), name=entry["name"]), source="demo")
            interrupted = False

            async def finish_when_done() -> None:
                await engine.ready.wait()
                while True:
                    await anyio.sleep(0.5)
                    active = engine.watched()
                    if all(s.snapshot is not None and s.snapshot.info.get("continuous") for s in active):
                        engine.stop()
                        return

            async def on_signal() -> None:
                nonlocal interrupted
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        interrupted = True
                        engine.stop()
                        return

            try:
                await engine.run(finish_when_done, on_signal)
                states = store.jobs()
                notes: dict[str, int] = {}
                for item in store.history(limit=100000):
                    if any(d["state"] == "sent" for d in item.deliveries):
                        notes[item.job.key] = notes.get(item.job.key, 0) + 1
                printer.summary(states, notes)
                print(
                    f"\n{len(received)} notifications delivered through apprise (json://) from the outbox; "
                    f"{store.outbox_depth()} left undelivered.",
                    file=printer.stream,
                )
            finally:
                store.close()
    return 130 if interrupted else 0
