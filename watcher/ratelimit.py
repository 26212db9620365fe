"""A token bucket with an adaptive rate: the per-service limit on AWS requests.

anyio has no rate limiter. This one hands out tokens at ``rate`` per second (bursts up to ``burst``)
in FIFO order. The burst defaults to one token, so no one-second window ever sees more than
``rate`` requests: AWS's limits are per second, and a burst would spend them all at once.
A throttle answer halves the current rate (down to ``floor``); every success then adds back a
little until the configured rate is reached again (AIMD, as TCP and botocore's adaptive mode do),
so a throttled service slows down as a whole and recovers by itself.
"""

from __future__ import annotations

import time

import anyio


class TokenBucket:
    """Rate limiter shared by every poll of one service in one region."""

    def __init__(self, rate: float, burst: float | None = None, floor: float | None = None) -> None:
        self.limit = float(rate)
        self.rate = float(rate)
        self.burst = max(1.0, burst if burst is not None else 1.0)
        self.floor = floor if floor is not None else max(0.05, rate / 20)
        self._tokens = min(self.burst, 1.0)
        self._stamp = time.monotonic()
        self._lock = anyio.Lock()
        self.throttles = 0

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> None:
        """Wait for one token. Waiters are served in arrival order (anyio.Lock is fair)."""
        async with self._lock:
            while True:
                now = time.monotonic()
                self._refill(now)
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await anyio.sleep((1.0 - self._tokens) / self.rate)

    def throttled(self) -> None:
        """The service said slow down: halve the rate and drop the saved burst."""
        self.throttles += 1
        self._refill(time.monotonic())
        self.rate = max(self.floor, self.rate / 2)
        self._tokens = min(self._tokens, 0.0)

    def succeeded(self) -> None:
        """A call went through: creep back towards the configured rate (about +5% of it per success)."""
        if self.rate < self.limit:
            self._refill(time.monotonic())
            self.rate = min(self.limit, self.rate + self.limit * 0.05)
