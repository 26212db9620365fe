"""Shared fixtures. Append new fixtures below; keep the existing ones as they are (others depend on them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from watcher.simulator import SimulatorThread


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (aiobotocore's session and apprise's async_notify need it)."""
    return "asyncio"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Dummy AWS credentials and region; no profile, config file or instance metadata is consulted."""
    empty = tmp_path_factory.mktemp("aws")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(empty / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty / "credentials"),
    }.items():
        monkeypatch.setenv(name, value)
    unset = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
    for name in unset:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    """A fresh, empty simulator in a background thread: ``.url`` and ``.control`` (a SimControl)."""
    with SimulatorThread() as running:
        yield running
