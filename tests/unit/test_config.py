"""The settings model: a bad config names the file, the field and what is wrong; nothing starts."""

import subprocess
import sys
from pathlib import Path

import pytest

from watcher.config import load_settings, masked
from watcher.errors import ConfigError

GOOD = """
[watcher]
state = "x.db"
poll_interval = "10s"
max_poll_interval = "2m"
stuck_after = "0"

[aws]
region = "us-east-1"

[services.braket]
rate_limit = 2
poll_interval = "1m"

[[channels]]
name = "team"
url = "json://127.0.0.1:9000/${HOOK_PATH}"

[[routes]]
channels = ["team"]
when = { phase = ["succeeded", "failed", "cancelled"] }

[[jobs]]
service = "braket"
jobArn = "arn:aws:braket:us-east-1:123456789012:job/nightly"
name = "nightly VQE"

[[jobs]]
service = "deadline"
farmId = "farm-0123456789abcdef0123456789abcdef"
queueId = "queue-0123456789abcdef0123456789abcdef"
jobId = "job-0123456789abcdef0123456789abcdef"
tags = ["render"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobwatch.toml"
    path.write_text(text)
    return path


def test_a_good_config_loads_with_durations_in_seconds(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD), env={"HOOK_PATH": "hook"})
    assert settings.watcher.poll_interval == 10 and settings.watcher.max_poll_interval == 120
    assert settings.watcher.stuck_after == 0
    assert settings.base_interval("braket") == 60 and settings.base_interval("iot") == 10
    assert settings.service("braket").rate_limit == 2
    assert settings.channels[0].url == "json://127.0.0.1:9000/hook"
    keys = [job.info().key for job in settings.jobs]
    assert keys[0] == "braket:arn:aws:braket:us-east-1:123456789012:job/nightly"
    assert keys[1].startswith("deadline:farm-")
    assert settings.jobs[1].info().tags == ("render",)


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (('poll_interval = "10s"', 'poll_interval = "10 sec"'), "watcher.poll_interval", "not a duration"),
        (("rate_limit = 2", "rate_limit = -1"), "services.braket.rate_limit", "greater than 0"),
        (('service = "braket"', 'service = "bracket"'), "jobs[0].service", "unknown service 'bracket'"),
        (('jobArn = "arn', 'jobArm = "arn'), "jobs[0]", "jobArn"),
        (("[aws]", "[aws]\nregoin = 'x'"), "aws.regoin", "unknown key"),
        (('channels = ["team"]', 'channels = ["tema"]'), "routes[0]", "tema"),
        (("[services.braket]", "[services.s3]"), "services", "unknown service 's3'"),
    ],
)
def test_each_mistake_names_file_field_and_problem(
    tmp_path: Path, change: tuple[str, str], field: str, problem: str
) -> None:
    path = _write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={"HOOK_PATH": "hook"})
    message = str(caught.value)
    assert str(path) in message
    assert field in message
    assert problem in message


def test_unset_environment_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"channels\[0\]\.url: environment variable HOOK_PATH is not set"):
        load_settings(_write(tmp_path, GOOD), env={})


def test_not_toml_and_missing_file_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(_write(tmp_path, "[watcher\nstate = 1"), env={})
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nope.toml", env={})


def test_the_same_job_twice_is_refused(tmp_path: Path) -> None:
    text = GOOD + '\n[[jobs]]\nservice = "braket"\njobArn = "arn:aws:braket:us-east-1:123456789012:job/nightly"\n'
    with pytest.raises(ConfigError, match=r"jobs\[2\] watches the same job as jobs\[0\]"):
        load_settings(_write(tmp_path, text), env={"HOOK_PATH": "h"})


def test_environment_overrides_any_setting(tmp_path: Path) -> None:
    env = {
        "HOOK_PATH": "h",
        "JOBWATCH_WATCHER__POLL_INTERVAL": "5s",
        "JOBWATCH_SERVICES__IOT__RATE_LIMIT": "7",
        "JOBWATCH_API__LISTEN": "127.0.0.1:9999",
        "JOBWATCH_AWS__ENDPOINT_URL": "http://127.0.0.1:1",
    }
    settings = load_settings(_write(tmp_path, GOOD), env=env)
    assert settings.watcher.poll_interval == 5
    assert settings.service("iot").rate_limit == 7
    assert settings.api.port == 9999
    assert settings.aws.endpoint_url == "http://127.0.0.1:1"


def test_api_off_loopback_needs_a_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"api: .*requires a token"):
        load_settings(None, env={"JOBWATCH_API__LISTEN": "0.0.0.0:8787"})
    settings = load_settings(None, env={"JOBWATCH_API__LISTEN": "0.0.0.0:8787", "JOBWATCH_API__TOKEN": "s3cret"})
    assert masked(settings)["api"]["token"] == "***"


def test_masked_config_shows_no_secret(tmp_path: Path) -> None:
    settings = load_settings(
        _write(tmp_path, GOOD.replace("json://127.0.0.1:9000/${HOOK_PATH}", "slack://T0001/B0002/${HOOK_PATH}")),
        env={"HOOK_PATH": "xoxb-very-secret"},
    )
    assert "very-secret" not in str(masked(settings))


def test_check_config_exits_non_zero_and_starts_nothing(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('poll_interval = "10s"', 'poll_interval = "soon"'))
    done = subprocess.run(
        [sys.executable, "-m", "watcher.cli", "check-config", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOOK_PATH": "h", "PATH": "/usr/bin"},
    )
    assert done.returncode == 2
    assert f"{path}: watcher.poll_interval: 'soon' is not a duration" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.db").exists()
