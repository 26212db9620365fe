"""The example configs in config/: each loads, passes `jobwatch check-config`, and routes as its comments say.

The secrets come from config/jobwatch.env.example, so a variable an example needs but the env example
lacks fails here. Routing is checked with events the real differ makes from snapshots.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watcher.config import Settings, load_settings, masked
from watcher.diff import diff
from watcher.errors import ConfigError
from watcher.model import JobInfo, JobRef, Phase, Snapshot
from watcher.notify import Notifier

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config"
EXAMPLES = sorted(CONFIG.glob("*.toml"))
TOKEN = "s3cret-api-token-for-tests-only"
NOON = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # 12:00 in Berlin


def env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile and docker's --env-file read them (comments skipped)."""
    values = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and key == key.strip() and key.isidentifier(), f"not KEY=value: {raw!r}"
        values[key] = value
    return values


ENV = {**env_file(CONFIG / "jobwatch.env.example"), "JOBWATCH_API__TOKEN": TOKEN}


def load(name: str, env: dict[str, str] | None = None) -> tuple[Settings, Notifier]:
    settings = load_settings(CONFIG / name, env=ENV if env is None else env)
    notifier = Notifier.from_settings(settings, clock=NOON.timestamp)
    return settings, notifier


def routed(notifier: Notifier, info: JobInfo, before: Snapshot | None, after: Snapshot) -> list[list[str]]:
    """The channels each event of the change before -> after goes to."""
    return [sorted(notifier.route(event, info)) for event in diff(info.key, info.ref.service, before, after, NOON)]


def snap(phase: Phase, status: str, **more: object) -> Snapshot:
    return Snapshot(phase=phase, status=status, terminal=phase.terminal, **more)  # type: ignore[arg-type]


def test_the_examples_for_every_case_are_there() -> None:
    names = {p.name for p in EXAMPLES}
    assert {
        "minimal.toml",
        "amplify-slack.toml",
        "deadline-email.toml",
        "braket-sidecar.toml",
        "iot-rollout.toml",
        "devicefarm.toml",
    } <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_loads_and_every_channel_route_and_template_checks_out(path: Path) -> None:
    settings, notifier = load(path.name)
    assert notifier.problems() == []
    assert settings.channels, "every example sends somewhere"
    shown = str(masked(settings))
    for name, value in ENV.items():
        if len(value) >= 8 and ("TOKEN" in name or "KEY" in name or "PASSWORD" in name):
            assert value not in shown, f"{name} shows in check-config --print"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_jobwatch_check_config_accepts_the_example(path: Path, tmp_path: Path) -> None:
    env = {**ENV, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "watcher.cli", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("config OK")


def test_a_missing_secret_is_named_not_guessed() -> None:
    env = dict(ENV)
    del env["SLACK_WEBHOOK_TOKENS"]
    with pytest.raises(ConfigError, match="environment variable SLACK_WEBHOOK_TOKENS is not set"):
        load("amplify-slack.toml", env)


def test_minimal_sends_every_change_to_one_channel() -> None:
    settings, notifier = load("minimal.toml")
    assert [c.name for c in settings.channels] == ["main"] and not settings.jobs
    info = JobInfo(JobRef("braket", {"jobArn": "arn:aws:braket:us-east-1:123456789012:job/x"}))
    assert routed(notifier, info, snap(Phase.RUNNING, "RUNNING"), snap(Phase.FAILED, "FAILED")) == [["main"]]


def test_amplify_builds_are_discovered_and_reported_to_slack_when_they_end() -> None:
    settings, notifier = load("amplify-slack.toml")
    assert {(r.service, r.params["branchName"]) for r in settings.discover} == {
        ("amplify", "main"),
        ("amplify", "staging"),
    }
    assert settings.channels[0].url is not None and settings.channels[0].url.startswith("slack://")
    info = JobInfo(JobRef("amplify", {"appId": "d1a2b3c4d5e6f7", "branchName": "main", "jobId": "42"}))
    assert routed(notifier, info, snap(Phase.QUEUED, "PENDING"), snap(Phase.RUNNING, "RUNNING")) == [[]]
    assert routed(notifier, info, snap(Phase.RUNNING, "RUNNING"), snap(Phase.SUCCEEDED, "SUCCEED")) == [["deploys"]]
    failed_step = routed(
        notifier,
        info,
        snap(Phase.RUNNING, "RUNNING", steps={"BUILD": "RUNNING"}),
        snap(Phase.RUNNING, "RUNNING", steps={"BUILD": "FAILED"}),
    )
    assert failed_step == [["deploys"]]


def test_deadline_failures_are_mailed_and_successes_are_not() -> None:
    settings, notifier = load("deadline-email.toml")
    assert settings.channels[0].url is not None and settings.channels[0].url.startswith("mailtos://")
    assert settings.discover[0].service == "deadline" and settings.discover[0].match == "shot_*"
    hexid = "0123456789abcdef0123456789abcdef"
    info = JobInfo(
        JobRef("deadline", {"farmId": f"farm-{hexid}", "queueId": f"queue-{hexid}", "jobId": f"job-{hexid}"})
    )
    running = snap(Phase.RUNNING, "RUNNING")
    assert routed(notifier, info, running, snap(Phase.FAILED, "FAILED")) == [["render-team"]]
    assert routed(notifier, info, running, snap(Phase.SUCCEEDED, "SUCCEEDED")) == [[]]


def test_braket_sidecar_needs_its_token_and_reports_everything_to_the_app() -> None:
    env = {k: v for k, v in ENV.items() if k != "JOBWATCH_API__TOKEN"}
    with pytest.raises(ConfigError, match="JOBWATCH_API__TOKEN is not set"):
        load("braket-sidecar.toml", env)
    settings, notifier = load("braket-sidecar.toml")
    assert settings.api.token == TOKEN and not settings.jobs and not settings.discover  # jobs come through the API
    info = JobInfo(JobRef("braket", {"jobArn": "arn:aws:braket:us-east-1:123456789012:job/vqe-42"}))
    assert routed(notifier, info, None, snap(Phase.QUEUED, "QUEUED")) == [["app"]]
    assert routed(notifier, info, snap(Phase.RUNNING, "RUNNING"), snap(Phase.FAILED, "FAILED")) == [
        ["app", "quantum-team"]
    ]


def test_iot_rollout_pages_on_abort_and_digests_progress_outside_quiet_hours() -> None:
    settings, notifier = load("iot-rollout.toml")
    progress = [r for r in settings.routes if r.when.kind == ["progress"]]
    assert progress and progress[0].group_window == 900
    info = JobInfo(JobRef("iot", {"jobId": "fw-2026-06"}))
    running = snap(Phase.RUNNING, "IN_PROGRESS", counters={"succeeded": 10, "failed": 0})
    aborted = snap(Phase.CANCELLED, "CANCELED", counters={"succeeded": 10, "failed": 12})
    events = routed(notifier, info, running, aborted)
    assert ["fleet", "pager"] in events
    moved = snap(Phase.RUNNING, "IN_PROGRESS", counters={"succeeded": 25, "failed": 1})
    assert routed(notifier, info, running, moved) == [["fleet"]]
    night = datetime(2026, 6, 10, 21, 30, tzinfo=UTC)  # 23:30 in Berlin: the mute holds progress back
    muted = Notifier.from_settings(settings, clock=night.timestamp)
    assert routed(muted, info, running, moved) == [[]]
    assert ["fleet", "pager"] in routed(muted, info, running, aborted)  # failures still page at night


def test_devicefarm_runs_are_discovered_and_each_device_reported() -> None:
    settings, notifier = load("devicefarm.toml")
    assert settings.discover[0].service == "devicefarm" and ":run:" in settings.discover[0].params["arn"]
    assert settings.jobs[0].info().ref.service == "devicefarm"
    info = settings.jobs[0].info()
    done = routed(
        notifier,
        info,
        snap(Phase.RUNNING, "RUNNING", result="PENDING"),
        snap(Phase.FAILED, "COMPLETED", result="FAILED", counters={"passed": 41, "failed": 2}),
    )
    assert ["qa"] in done
