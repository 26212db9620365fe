"""`jobwatch demo`, the README's first command, on a small fast mix: every job ends and is notified."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from watcher.model import SERVICES


def test_demo_watches_every_service_to_the_end_with_notifications() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(
        [sys.executable, "-m", "watcher.cli", "demo", "--jobs", "5", "--time-scale", "0.25"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    table = out[out.index("SERVICE  ") :]
    rows = [line.split() for line in table.splitlines()[1:] if line.strip() and line.split()[0] in SERVICES]
    assert sorted(row[0] for row in rows) == sorted(SERVICES)
    assert all(any(p in row for p in ("succeeded", "failed", "cancelled")) for row in rows)
    delivered = re.search(r"(\d+) notifications delivered .* (\d+) left undelivered", out)
    assert delivered is not None and delivered.groups() == ("5", "0")
    assert out.count("┌─ notification") == 5
    assert "Traceback" not in done.stderr
