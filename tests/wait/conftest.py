"""The real local notification receivers of tests/notify, for the tests here that check deliveries."""

from __future__ import annotations

from notify.receivers import http_receiver

__all__ = ["http_receiver"]
