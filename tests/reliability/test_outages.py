"""Outages around the daemon: the notification receiver gone for a while, AWS throttling and failing.

Both drills run `jobwatch run` as a child process against the simulator (a thread of the test process).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest
from reliability.drills import SERVICES, Receiver, SimJob, add_jobs, daemon_config, read_state, state_progress
from support import until

from watcher.store import JobState, Store

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("aws_env")]


def register(state: Path, jobs: list[SimJob]) -> None:
    with Store.open(state) as store:
        now = time.time()
        for job in jobs:
            store.upsert_job(JobState(info=job.info, source="cli", added_at=now, next_poll_at=now))


def phase_events(state: Path) -> list[tuple[str, str | None, str]]:
    """(job, old phase, new phase) of every phase event in the state file, oldest first."""
    rows = read_state(state, "SELECT job_key, event FROM events WHERE kind = 'phase' ORDER BY id")
    return [(key, json.loads(raw)["old"], json.loads(raw)["new"]) for key, raw in rows]


async def test_a_receiver_outage_loses_nothing_and_sends_nothing_twice(
    sim: Any, receiver: Receiver, make_daemon: Any, tmp_path: Path
) -> None:
    jobs = add_jobs(sim.control, 30, random.Random(3), running=(0.3, 1.0), ends=(2.0, 4.0), prefix="outage")
    state = tmp_path / "state.db"
    register(state, jobs)
    daemon = make_daemon(daemon_config(sim.url, state, receiver.url))
    daemon.start()
    await until(lambda: len(receiver.delivered()) >= 5, 30, "the first notices")

    receiver.status = 503  # first the receiver answers but fails (until a send has met it)...
    await until(lambda: any(n.status == 503 for n in receiver.notices), 30, "a send to meet the failing receiver")
    await receiver.down()  # ...then it is gone (connection refused)
    await until(lambda: state_progress(state)[0] == 0, 30, "every job to end while the receiver is down")
    await anyio.sleep(1.0)
    owed = state_progress(state)[1]
    assert owed > 0, "the outage held nothing back: the drill proved nothing"
    receiver.status = 200
    await receiver.up()
    await until(lambda: state_progress(state) == (0, 0), 30, "the outbox to drain once the receiver is back")
    assert daemon.terminate() == 0

    expected = Counter((key, new) for key, _, new in phase_events(state))
    delivered = Counter((n.job, n.phase) for n in receiver.delivered())
    refused_or_failed = read_state(state, "SELECT COUNT(*) FROM outbox WHERE attempts > 1")[0][0]
    print(
        f"\nreceiver outage: {sum(expected.values())} phase events, {owed} owed when it came back, "
        f"{len(receiver.notices) - len(receiver.delivered())} answered 503, {refused_or_failed} rows needed retries; "
        f"delivered {sum(delivered.values())}"
    )
    assert {key for key, _ in expected} == {job.info.key for job in jobs}
    assert delivered == expected  # every event once: nothing lost, nothing twice
    assert max(delivered.values()) == 1
    assert [n for n in receiver.notices if n.status == 503], "no send met the failing receiver"
    assert read_state(state, "SELECT state, COUNT(*) FROM outbox GROUP BY state") == [("sent", sum(expected.values()))]


async def test_throttle_storms_and_5xx_bursts_keep_the_rate_under_the_limit_with_no_false_transitions(
    sim: Any, make_daemon: Any, tmp_path: Path
) -> None:
    limit = 8
    jobs = add_jobs(sim.control, 60, random.Random(5), running=(0.5, 1.5), ends=(3.0, 9.0), prefix="storm")
    state = tmp_path / "state.db"
    register(state, jobs)
    config = daemon_config(sim.url, state, services={s: {"rate_limit": limit} for s in SERVICES})
    daemon = make_daemon(config)
    started = time.monotonic()
    daemon.start()
    storm = [  # (seconds, fault settings): calm (polls press on the limit), throttle storms, 5xx bursts, both
        (2.0, {}),
        (1.5, {"throttle_rate": 0.7}),
        (1.0, {}),
        (1.0, {"error_rate": 0.6}),
        (1.5, {"throttle_rate": 0.4, "error_rate": 0.3, "latency_ms": 40}),
        (1.0, {"error_rate": 0.9}),
    ]
    last_end = started + max(job.ends_at for job in jobs) + 1.0
    rounds = 0
    while time.monotonic() < last_end or rounds == 0:
        for seconds, faults in storm:
            sim.control.faults(**faults)
            await anyio.sleep(seconds)
            assert daemon.running(), f"the daemon died in the storm; log:\n{daemon.log_text()[-3000:]}"
        rounds += 1
    sim.control.faults()
    await until(lambda: state_progress(state)[0] == 0, 60, "every job to be seen ending after the storm")
    assert daemon.running()
    assert daemon.terminate() == 0

    stats = sim.control.stats()
    throttles, errors = stats["totals"]["throttles"], stats["totals"]["errors"]
    kinds = Counter(k for (k,) in read_state(state, "SELECT kind FROM events"))
    print(
        f"\nstorm: {rounds} rounds, {stats['totals']['requests']} requests, {throttles} throttled, {errors} 5xx; "
        f"peak req/s per service {stats['peak_rps']} (limit {limit}); events {dict(kinds)}"
    )
    assert throttles > 0 and errors > 0
    # The bucket sends at most `limit` a second with no burst; arrivals at the simulator (one thread sharing
    # this process's GIL) jitter by milliseconds, so its sliding one-second window may catch one more.
    assert all(peak <= limit + 1 for peak in stats["peak_rps"].values()), stats["peak_rps"]
    for service in SERVICES:
        sent = sum(v["requests"] for k, v in stats["operations"].items() if k.startswith(f"{service}:"))
        assert sent / stats["seconds"] <= limit, (service, sent, stats["seconds"])
    assert max(stats["peak_rps"].values()) >= limit - 1, "the polls never pressed on the limit: nothing was proved"
    assert kinds["vanished"] == 0 and kinds["stuck"] == 0
    transitions: dict[str, list[tuple[str | None, str]]] = {}
    for key, old, new in phase_events(state):
        transitions.setdefault(key, []).append((old, new))
    for job in jobs:
        seen = transitions.get(job.info.key, [])
        assert seen and seen[-1][1] == job.end, (job.info.key, seen)
        allowed = {("queued", "running"), ("running", job.end), ("queued", job.end), (None, job.end)}
        # no phase the job never had; (None, end): its first answer came after its end ("already ...")
        assert set(seen) <= allowed, (job.info.key, seen)
    assert "Traceback" not in daemon.log_text()
