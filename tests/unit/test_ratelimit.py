"""The adaptive token bucket: exact pacing, halving on throttles, recovery on success."""

import time

import anyio
import pytest

from watcher.ratelimit import TokenBucket

pytestmark = pytest.mark.anyio


async def test_many_tasks_get_tokens_no_faster_than_the_rate() -> None:
    bucket = TokenBucket(rate=20, burst=1)
    stamps: list[float] = []

    async def take() -> None:
        await bucket.acquire()
        stamps.append(time.monotonic())

    start = time.monotonic()
    async with anyio.create_task_group() as tg:
        for _ in range(30):
            tg.start_soon(take)
    # 30 tokens at 20/s with a burst of 1: the last one cannot come before 29/20 s after the first.
    assert len(stamps) == 30
    assert stamps[-1] - start >= 29 / 20 * 0.95


def test_throttle_halves_the_rate_and_success_restores_it() -> None:
    bucket = TokenBucket(rate=10)
    bucket.throttled()
    assert bucket.rate == 5
    bucket.throttled()
    assert bucket.rate == 2.5
    for _ in range(100):
        bucket.succeeded()
    assert bucket.rate == 10
    assert bucket.throttles == 2


def test_rate_never_falls_below_the_floor() -> None:
    bucket = TokenBucket(rate=1, floor=0.2)
    for _ in range(20):
        bucket.throttled()
    assert bucket.rate == 0.2
