"""Running the simulator: in an event loop (:func:`start_simulator`), in a thread (:class:`SimulatorThread`)
or as a blocking command (:func:`serve`, behind ``jobwatch simulate``)."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType

import structlog
from aiohttp import web

from watcher.simulator.app import build_app
from watcher.simulator.control import SimControl
from watcher.simulator.seed import seed_jobs
from watcher.simulator.state import SimState

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RunningSimulator:
    """A simulator serving: its base URL and its in-process state (touch the state from its loop only)."""

    url: str
    state: SimState


@asynccontextmanager
async def start_simulator(
    host: str = "127.0.0.1", port: int = 0, jobs: int = 0, seed: int = 0, time_scale: float = 1.0
) -> AsyncIterator[RunningSimulator]:
    """Serve the simulator on ``host:port`` (0: a free port) in the running asyncio loop until the block ends."""
    state = SimState(seed=seed, time_scale=time_scale)
    seed_jobs(state, jobs, seed, time_scale)
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        url = f"http://{_url_host(bound_host)}:{bound_port}"
        log.info("sim.started", url=url, jobs=jobs, seed=seed, time_scale=time_scale)
        yield RunningSimulator(url, state)
    finally:
        await runner.cleanup()
        log.info("sim.stopped")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class SimulatorThread:
    """The simulator in a background thread with its own event loop, on a free port (a sync context manager)."""

    def __init__(
        self, jobs: int = 0, seed: int = 0, time_scale: float = 1.0, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._options = {"host": host, "port": port, "jobs": jobs, "seed": seed, "time_scale": time_scale}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobwatch-simulator", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._running: RunningSimulator | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """Base URL, for example ``http://127.0.0.1:43123``."""
        assert self._running is not None, "the simulator thread is not running"
        return self._running.url

    @property
    def state(self) -> SimState:
        """The state (owned by the simulator's loop: read it only, and only when no call is in flight)."""
        assert self._running is not None, "the simulator thread is not running"
        return self._running.state

    @property
    def control(self) -> SimControl:
        """A client of the control API."""
        return SimControl(self.url)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the starting thread, which re-raises it
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with start_simulator(**self._options) as running:  # type: ignore[arg-type]
            self._running = running
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> SimulatorThread:
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("the simulator did not start within 30 s")
        if self._error is not None:
            raise RuntimeError(f"the simulator failed to start: {self._error}") from self._error
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


def serve(host: str = "127.0.0.1", port: int = 8811, jobs: int = 0, seed: int = 0, time_scale: float = 1.0) -> None:
    """Serve the simulator until SIGINT or SIGTERM (the ``jobwatch simulate`` command)."""
    asyncio.run(_serve(host, port, jobs, seed, time_scale))


async def _serve(host: str, port: int, jobs: int, seed: int, time_scale: float) -> None:
    async with start_simulator(host, port, jobs, seed, time_scale) as sim:
        print(banner(sim), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)


def banner(sim: RunningSimulator) -> str:
    """What ``jobwatch simulate`` prints: the URL, one aws CLI line and one Python client line."""
    entries = sim.state.entries()
    braket = next((e for e in entries if e["service"] == "braket"), None)
    if braket is not None:
        cli = (
            f"aws braket get-job --endpoint-url {sim.url} --region us-east-1 --job-arn "
            f"{braket['params']['jobArn']} --additional-attribute-names QueueInfo"
        )
    else:
        cli = f"aws iot list-jobs --endpoint-url {sim.url} --region us-east-1"
    return "\n".join(
        [
            f"AWS simulator (Device Farm, Deadline Cloud, Amplify, IoT, Braket) serving on {sim.url}",
            f"  {len(entries)} job(s); control API: curl {sim.url}/_sim/jobs",
            "  any credentials work: export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing",
            f"  try: {cli}",
            f"  python: aiobotocore.session.get_session().create_client('iot', region_name='us-east-1', "
            f"endpoint_url='{sim.url}', config=AioConfig(inject_host_prefix=False))",
            "  stop with Ctrl-C",
        ]
    )
