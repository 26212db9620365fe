"""Request counters: per ``service:Operation`` totals and the busiest one-second window per service.

Cheap on purpose (one dict lookup and a deque append per request): the simulator faces about
1000 requests per second in benchmarks.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

REQUESTS, THROTTLES, ERRORS, CLIENT_ERRORS = range(4)


class Stats:
    """Counts since the simulator started or was last reset."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        self.started = self._clock()
        self._rows: dict[str, list[int]] = {}
        self._windows: dict[str, deque[float]] = {}
        self._peaks: dict[str, int] = {}
        self._signers: dict[str, list[float]] = {}

    def request(self, service: str, operation: str) -> list[int]:
        """Count one request; the returned row takes the outcome (``row[THROTTLES] += 1``...)."""
        key = f"{service}:{operation}"
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = [0, 0, 0, 0]
        row[REQUESTS] += 1
        # Sliding window of this service's request times over the last second: its length after
        # dropping older ones is the count in the one-second window ending now.
        now = self._clock()
        window = self._windows.get(service)
        if window is None:
            window = self._windows[service] = deque()
        window.append(now)
        while now - window[0] >= 1.0:
            window.popleft()
        if len(window) > self._peaks.get(service, 0):
            self._peaks[service] = len(window)
        return row

    def signed(self, key_id: str, wall: float) -> None:
        """Count a request signed with access key ``key_id``, keeping the first and last wall-clock time seen."""
        seen = self._signers.get(key_id)
        if seen is None:
            self._signers[key_id] = [1, wall, wall]
        else:
            seen[0] += 1
            seen[2] = wall

    def to_json(self) -> dict[str, Any]:
        """The ``GET /_sim/stats`` answer."""
        operations = {
            key: {
                "requests": r[REQUESTS],
                "throttles": r[THROTTLES],
                "errors": r[ERRORS],
                "client_errors": r[CLIENT_ERRORS],
            }
            for key, r in sorted(self._rows.items())
        }
        totals = {
            name: sum(op[name] for op in operations.values())
            for name in ("requests", "throttles", "errors", "client_errors")
        }
        return {
            "operations": operations,
            "peak_rps": dict(sorted(self._peaks.items())),
            "totals": totals,
            "seconds": round(self._clock() - self.started, 3),
            "access_keys": {
                key: {"requests": int(n), "first": first, "last": last}
                for key, (n, first, last) in sorted(self._signers.items())
            },
        }
