"""systemd/jobwatch.service: verified by systemd-analyze, sandboxed to a rating of 2.0 or better, and honoured
by the daemon (READY=1, watchdog beats, a clean stop on the unit's KillSignal).

The systemd-analyze checks skip only when the tool is absent; CI installs it (apt-get install systemd).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "jobwatch.service"
MAX_EXPOSURE = 2.0  # systemd-analyze's "OK" band ends at 2.0 (lower is safer)
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)")


def unit_entries(text: str) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file -> (key, value) in order; repeated keys are kept (systemd adds them up)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{raw!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{raw!r} is not Key=value"
        current.append((key.strip(), value.strip()))
    return sections


ENTRIES = unit_entries(UNIT.read_text())


def one(section: str, key: str) -> str:
    values = [v for k, v in ENTRIES.get(section, []) if k == key]
    assert values, f"[{section}] {key}= is missing"
    return values[-1]


def every(section: str, key: str) -> list[str]:
    return [v for k, v in ENTRIES.get(section, []) if k == key]


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|min|m|h)?", value)
    assert match, f"{value!r} is not a simple time span"
    return int(match.group(1)) * {"ms": 0.001, "s": 1, None: 1, "min": 60, "m": 60, "h": 3600}[match.group(2)]


# -- what the unit says ------------------------------------------------------------------------------


def test_notify_service_with_a_watchdog_and_rate_limited_restarts() -> None:
    assert one("Service", "Type") == "notify"
    assert one("Service", "NotifyAccess") == "main"
    assert 10 <= seconds(one("Service", "WatchdogSec")) <= 600
    assert one("Service", "Restart") == "on-failure"
    assert int(one("Unit", "StartLimitBurst")) >= 1
    assert seconds(one("Unit", "StartLimitIntervalSec")) > 0
    assert one("Service", "RestartPreventExitStatus") == "2"  # a config error: restarting cannot fix it


def test_runs_the_installed_daemon_with_config_and_state_in_their_managed_directories() -> None:
    assert one("Service", "ExecStart") == "/opt/jobwatch/bin/jobwatch run --config /etc/jobwatch/jobwatch.toml"
    assert one("Service", "DynamicUser") == "yes"
    assert one("Service", "StateDirectory") == "jobwatch"  # /var/lib/jobwatch, owned by the dynamic user
    assert one("Service", "ConfigurationDirectory") == "jobwatch"  # /etc/jobwatch
    assert "JOBWATCH_WATCHER__STATE=/var/lib/jobwatch/jobwatch.db" in every("Service", "Environment")
    assert one("Service", "EnvironmentFile") == "-/etc/jobwatch/jobwatch.env"  # optional: "-"
    assert one("Service", "UMask") == "0077"


def test_sandbox_fits_a_network_client_and_no_more() -> None:
    expected = {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",
        "SystemCallArchitectures": "native",
        "MemoryDenyWriteExecute": "yes",
        "LockPersonality": "yes",
        "RestrictNamespaces": "yes",
        "RestrictRealtime": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "ProtectClock": "yes",
        "ProtectHostname": "yes",
        "ProtectProc": "invisible",
        "ProcSubset": "pid",
    }
    for key, value in expected.items():
        assert one("Service", key) == value, key
    assert one("Service", "RestrictAddressFamilies").split() == ["AF_UNIX", "AF_INET", "AF_INET6"]
    assert "@system-service" in every("Service", "SystemCallFilter")
    # it must still reach AWS and the notification endpoints, and write its state directory
    assert "PrivateNetwork" not in dict(ENTRIES["Service"])
    assert "IPAddressDeny" not in dict(ENTRIES["Service"])
    assert not any(k == "ReadOnlyPaths" and "/var/lib/jobwatch" in v for k, v in ENTRIES["Service"])


# -- systemd-analyze -------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root for `systemd-analyze --root`: the unit installed, the ExecStart binary present, systemd's units."""
    root = tmp_path / "root"
    exec_start = one("Service", "ExecStart").split()[0]
    binary = root / exec_start.lstrip("/")
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    (root / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, root / "etc/systemd/system/jobwatch.service")
    # the targets the unit orders itself after (network-online.target, multi-user.target, sysinit.target)
    for system in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if system.is_dir():
            shutil.copytree(system, root / "usr/lib/systemd/system", symlinks=True, dirs_exist_ok=True)
            break
    return root


def verify(root: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, "verify", f"--root={root}", str(root / "etc/systemd/system/jobwatch.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@needs_analyze
def test_systemd_analyze_verify_passes_without_a_single_warning(root: Path) -> None:
    done = verify(root)
    # verify exits 0 on warnings such as unknown keys, so any output counts as a failure
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr


@needs_analyze
def test_verify_catches_the_mistakes_the_check_is_there_for(root: Path) -> None:
    unit = root / "etc/systemd/system/jobwatch.service"
    unit.write_text(UNIT.read_text().replace("Type=notify", "Type=notify\nProtectSytem=strict"))
    assert "Unknown key" in verify(root).stderr
    unit.write_text(UNIT.read_text())
    (root / one("Service", "ExecStart").split()[0].lstrip("/")).unlink()
    done = verify(root)
    assert done.returncode != 0 and "not executable" in done.stderr


def exposure(unit: Path) -> tuple[float, str]:
    assert ANALYZE is not None
    done = subprocess.run(
        [ANALYZE, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", done.stdout)
    assert match, done.stdout + done.stderr
    return float(match.group(1)), match.group(2)


@needs_analyze
def test_systemd_analyze_security_rates_the_unit_ok_or_safer() -> None:
    score, label = exposure(UNIT)
    print(f"systemd-analyze security: {score} {label}")
    assert score <= MAX_EXPOSURE, f"exposure {score} {label}; 2.0 or lower is required"


@needs_analyze
def test_the_rating_would_catch_a_sandbox_that_was_dropped(tmp_path: Path) -> None:
    sandboxing = ("Protect", "Private", "Restrict", "System")
    sandbox_free = "\n".join(line for line in UNIT.read_text().splitlines() if not line.startswith(sandboxing))
    weak = tmp_path / "jobwatch.service"
    weak.write_text(sandbox_free)
    assert exposure(weak)[0] > MAX_EXPOSURE


# -- the daemon keeps the unit's promises ---------------------------------------------------------


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    yield sock, path
    sock.close()


def _wait_for(sock: socket.socket, wanted: str, count: int, deadline: float, seen: list[str]) -> None:
    """Receive notify datagrams until ``count`` of them contain ``wanted`` (or fail at the deadline)."""
    while sum(wanted in m.split("\n") for m in seen) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"{count} x {wanted} expected from the daemon; got {seen}"
        sock.settimeout(left)
        try:
            seen.append(sock.recv(4096).decode())
        except TimeoutError:
            continue


def test_daemon_sends_ready_and_watchdog_beats_and_stops_cleanly_on_the_kill_signal(
    tmp_path: Path, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, path = notify_socket
    unit_env = dict(v.split("=", 1) for v in every("Service", "Environment"))
    env = {
        **unit_env,
        "JOBWATCH_WATCHER__STATE": str(tmp_path / "jobwatch.db"),  # the StateDirectory, moved into tmp
        "HOME": str(tmp_path),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "JOBWATCH_NOTIFY_URL": "json://127.0.0.1:9/unused",
        "JOBWATCH_API__LISTEN": "127.0.0.1:0",
        "NOTIFY_SOCKET": path,
        "WATCHDOG_USEC": "400000",  # beats every 0.2 s; the unit's WatchdogSec is just longer
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    config = REPO / "config" / "minimal.toml"
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher.cli", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        _wait_for(sock, "READY=1", 1, time.monotonic() + 30, seen)
        _wait_for(sock, "WATCHDOG=1", 3, time.monotonic() + 10, seen)  # beats keep coming, not just one
        process.send_signal(getattr(signal, one("Service", "KillSignal")))
        _, stderr = process.communicate(timeout=seconds(one("Service", "TimeoutStopSec")))
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    _wait_for(sock, "STOPPING=1", 1, time.monotonic() + 5, seen)
    assert process.returncode == 0, stderr[-2000:]
    assert (tmp_path / "jobwatch.db").exists()


@needs_analyze
def test_the_rating_quoted_in_the_operations_guide_is_the_measured_one() -> None:
    guide = (REPO / "docs" / "operations.md").read_text()
    quoted = re.search(r"rates it \*\*(\d+\.\d+) (\w+)\*\*", guide)
    assert quoted, "docs/operations.md should quote the systemd-analyze security rating"
    score, label = exposure(UNIT)
    assert (float(quoted.group(1)), quoted.group(2)) == (score, label)
