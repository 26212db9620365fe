"""Faults injected on demand: throttles, 5xx answers and slow answers, for all or some services."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from watcher.model import SERVICES


@dataclass(frozen=True, slots=True)
class Faults:
    """The fault settings; each POST to ``/_sim/faults`` replaces all of them (omitted = off)."""

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    latency_ms: float = 0.0
    services: frozenset[str] | None = None  # None: every service

    @property
    def active(self) -> bool:
        return self.throttle_rate > 0 or self.error_rate > 0 or self.latency_ms > 0

    def applies(self, service: str) -> bool:
        """Whether the faults touch calls to ``service``."""
        return self.services is None or service in self.services

    def to_json(self) -> dict[str, Any]:
        return {
            "throttle_rate": self.throttle_rate,
            "error_rate": self.error_rate,
            "latency_ms": self.latency_ms,
            "services": sorted(self.services) if self.services is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Faults:
        """Read the control API's JSON; ValueError names the field that is wrong."""
        unknown = set(data) - {"throttle_rate", "error_rate", "latency_ms", "services"}
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        rates = {}
        for key in ("throttle_rate", "error_rate"):
            value = data.get(key, 0.0)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{key} must be a number from 0 to 1, got {value!r}")
            rates[key] = float(value)
        latency = data.get("latency_ms", 0.0)
        if isinstance(latency, bool) or not isinstance(latency, int | float) or not 0 <= latency <= 60_000:
            raise ValueError(f"latency_ms must be a number from 0 to 60000, got {latency!r}")
        services = data.get("services")
        if services is not None:
            if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
                raise ValueError("services must be a list of service names")
            unknown_services = set(services) - set(SERVICES)
            if unknown_services:
                raise ValueError(f"unknown services {sorted(unknown_services)}; expected some of {list(SERVICES)}")
        return cls(
            rates["throttle_rate"],
            rates["error_rate"],
            float(latency),
            frozenset(services) if services is not None else None,
        )

    def draw(self, rng: random.Random) -> str | None:
        """What this call suffers: "throttle", "error" or None."""
        if self.throttle_rate and rng.random() < self.throttle_rate:
            return "throttle"
        if self.error_rate and rng.random() < self.error_rate:
            return "error"
        return None
