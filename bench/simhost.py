"""The simulator in its own process, preloaded with scripted jobs (used by the benchmarks).

    python bench/simhost.py SPEC.json TABLE.json

``SPEC.json`` is ``[{"service", "name", "script": [{"at": seconds, "fields": {...}}]}, ...]``. Every job is
created at once, before serving; ``TABLE.json`` receives ``[{"service", "name", "params", "created_wall"}]``
(``created_wall``: epoch seconds the script offsets count from). Prints ``URL http://127.0.0.1:PORT`` once
it serves, then serves until SIGTERM or SIGINT. Running apart from the watcher keeps its CPU separable.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from aiohttp import web

from watcher.simulator.admin import parse_script
from watcher.simulator.app import build_app
from watcher.simulator.state import SimState


async def main(spec_path: str, table_path: str) -> None:
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    state = SimState()
    table = []
    for item in spec:
        job = state.add_job(item["service"], item["name"], parse_script(item.get("script")))
        table.append({"service": job.service, "name": job.name, "params": job.params, "created_wall": job.created_wall})
    with open(table_path, "w", encoding="utf-8") as handle:
        json.dump(table, handle)
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"URL http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
