"""Helpers shared by test folders (the folder ``tests/`` is on ``sys.path`` through its conftest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from watcher.config import Settings
from watcher.model import SERVICES


async def until(condition: Any, within: float = 10.0, what: str = "condition") -> None:
    """Poll ``condition()`` every 20 ms; fail the test naming ``what`` after ``within`` seconds."""
    try:
        with anyio.fail_after(within):
            while not condition():
                await anyio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"timed out after {within}s waiting for {what}")


def quick_settings(sim_url: str, tmp_path: Path, **extra: Any) -> Settings:
    """Quick polls against the simulator, state in ``tmp_path``, the API on a free loopback port.

    Each keyword overrides a top-level section (tables are merged key by key, anything else replaced).
    """
    raw: dict[str, Any] = {
        "watcher": {
            "state": str(tmp_path / "state.db"),
            "poll_interval": 0.2,
            "max_poll_interval": 0.5,
            "stuck_after": 0,
        },
        "aws": {"region": "us-east-1", "endpoint_url": sim_url},
        "services": {s: {"rate_limit": 50} for s in SERVICES},
        "api": {"listen": "127.0.0.1:0"},
        "notify": {"retry_base": 0.1, "retry_cap": 0.5},
    }
    for key, value in extra.items():
        raw[key] = {**raw[key], **value} if isinstance(raw.get(key), dict) else value
    return Settings.model_validate(raw)
