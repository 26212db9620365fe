"""Fixtures of the reliability drills; the helpers they use live in drills.py."""

from __future__ import annotations

from reliability.drills import make_daemon, receiver, small_fs

__all__ = ["make_daemon", "receiver", "small_fs"]
