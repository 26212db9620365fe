"""What the benchmarks share: the machine line, a simulator process, /proc readings, percentiles, tables.

Everything runs on 127.0.0.1; nothing here needs an AWS account.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watcher.simulator.control import SimControl

# the answers AWS gives at each point of a job's life: one table shared with the tests
from watcher.simulator.scripts import ENDS, PROGRESS, RUNNING  # noqa: F401 - re-exported

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
JOBWATCH = str(Path(sys.executable).with_name("jobwatch"))

READ_CALL = {"devicefarm": "get_job", "deadline": "get_job", "amplify": "get_job", "iot": "describe_job",
             "braket": "get_job"}  # fmt: skip


def aws_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process: dummy credentials, no profile or instance metadata."""
    empty = tempfile.mkdtemp(prefix="jobwatch-bench-aws-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "JOBWATCH_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": f"{empty}/config",
            "AWS_SHARED_CREDENTIALS_FILE": f"{empty}/credentials",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def use_aws_env() -> None:
    """Give this process the same dummy credentials (for clients made in-process)."""
    os.environ.update(aws_env())
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)


def machine() -> str:
    """One line naming the machine, Python, the date and the load at the time of the run."""
    model = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"machine: {os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {now}, "
        f"load average at start {load:.2f}"
    )


# -- /proc -----------------------------------------------------------------------------------------


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default), all its threads."""
    with open(f"/proc/{pid or os.getpid()}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int | None = None) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) in kB."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid or os.getpid()}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0])
    return out


# -- numbers and tables ----------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (0 <= share <= 1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (pastes into RESULTS.md as it is, reads fine in a terminal)."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return "-"
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


# -- processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SimProcess:
    """A simulator process preloaded with jobs: its URL, control client and job table."""

    process: subprocess.Popen[str]
    url: str
    jobs: list[dict[str, Any]]

    @property
    def control(self) -> SimControl:
        return SimControl(self.url, timeout=30)


@contextlib.contextmanager
def simulator(spec: list[dict[str, Any]], workdir: Path) -> Iterator[SimProcess]:
    """Start ``bench/simhost.py`` with ``spec`` (see its docstring); stop it when the block ends."""
    spec_path, table_path = workdir / "sim-spec.json", workdir / "sim-table.json"
    spec_path.write_text(json.dumps(spec))
    process = subprocess.Popen(
        [PYTHON, str(BENCH / "simhost.py"), str(spec_path), str(table_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=aws_env(),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("URL "):
            raise SystemExit("the simulator did not start")
        yield SimProcess(process, line.split()[1], json.loads(table_path.read_text()))
    finally:
        stop(process)


def stop(process: subprocess.Popen[Any], timeout: float = 15.0) -> int | None:
    """SIGTERM, then SIGKILL if it does not end within ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
