"""Fixtures of the notification tests: the real local receivers (see receivers.py) and small builders."""

from __future__ import annotations

from notify.receivers import http_receiver, smtp_server

__all__ = ["http_receiver", "smtp_server"]
