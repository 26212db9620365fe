"""SIGKILL drill: `jobwatch run` killed at random moments while 200 simulated jobs run to their end.

The daemon is a real child process with a real config (a ``json://`` channel to a receiver in this test's
event loop) and a real state file; the simulator runs in a thread of the test process, so it outlives every
kill. The daemon is killed at least 20 times, each at a random moment after its start (while it imports,
loads, polls, commits or sends), and started again at once. Afterwards every terminal transition must have
reached the receiver at least once, and no daemon life may deliver a notice twice: the outbox promise
(at-least-once, at most one repeat per crash). A notice in flight at two kills in a row (sent, the daemon
killed before marking it, restarted, killed again during the same resend) arrives three times, from three
lives; the drill counts such notices.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest
from reliability.drills import Daemon, Receiver, add_jobs, daemon_config, state_progress

from watcher.store import JobState, Store

pytestmark = [pytest.mark.anyio, pytest.mark.slow, pytest.mark.usefixtures("aws_env")]

JOBS = 200
KILLS = 20


async def test_sigkill_at_random_moments_loses_no_terminal_notification_and_repeats_only_after_a_crash(
    sim: Any, receiver: Receiver, make_daemon: Any, tmp_path: Path
) -> None:
    seed = int(os.environ.get("JOBWATCH_DRILL_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    # Jobs end between ~1 s and ~28 s after they are made: the kills below land all over their endings.
    jobs = add_jobs(sim.control, JOBS, rng, running=(0.3, 3.0), ends=(0.5, 25.0), prefix="kill")
    state = tmp_path / "state.db"
    with Store.open(state) as store:  # registered as `jobwatch add` does with no daemon running
        now = time.time()
        for job in jobs:
            store.upsert_job(JobState(info=job.info, source="cli", added_at=now, next_poll_at=now))
    # A slowish receiver keeps a backlog of sends in flight, so kills land between a send and its mark.
    receiver.delay = 0.04
    daemon: Daemon = make_daemon(daemon_config(sim.url, state, receiver.url))
    last_end = time.monotonic() + max(job.ends_at for job in jobs)

    kills = 0
    uptimes = []
    owed_at_kill = 0  # kills that found notifications owed (committed, not yet marked sent)
    while kills < KILLS or time.monotonic() < last_end:
        daemon.start()
        uptime = rng.uniform(0.2, 2.5)
        await anyio.sleep(uptime)
        owed_at_kill += state_progress(state)[1] > 0
        code = daemon.kill()
        assert code == -9, f"the daemon ended by itself ({code}) before the kill; log:\n{daemon.log_text()[-3000:]}"
        # what the dead daemon sent is in the receiver's socket by now: let it be handled, then count a new life
        await anyio.sleep(0.1)
        receiver.life += 1
        kills += 1
        uptimes.append(uptime)
        assert kills <= 60, "the drill should be over by now"

    daemon.start()
    await daemon.started()
    with anyio.fail_after(90):
        while state_progress(state) != (0, 0):
            await anyio.sleep(0.1)
    assert daemon.terminate() == 0

    delivered = Counter((n.job, n.phase) for n in receiver.delivered() if n.kind == "phase")
    terminal = {job.info.key: job.end for job in jobs}
    counts = [delivered[(key, end)] for key, end in terminal.items()]
    lost = [key for key, count in zip(terminal, counts, strict=True) if count == 0]
    twice = sum(1 for count in counts if count == 2)
    over = [key for key, count in zip(terminal, counts, strict=True) if count > 2]  # in flight at 2 kills
    repeats = sum(count - 1 for count in counts if count > 1)
    print(
        f"\nkill drill (seed {seed}): {kills} SIGKILLs (uptime {min(uptimes):.2f}-{max(uptimes):.2f} s), "
        f"{owed_at_kill} with notifications owed, {daemon.starts} starts, {JOBS} jobs; terminal notifications: "
        f"{sum(counts)} delivered for {len(counts)} transitions, lost {len(lost)}, sent twice {twice}, more than "
        f"twice {len(over)}; all phase notices {sum(delivered.values())}, receiver requests {len(receiver.notices)}"
    )
    assert kills >= KILLS
    assert not lost, f"terminal transitions never notified (seed {seed}): {lost[:5]}"
    assert repeats <= kills  # at most one repeat per crash
    # ...and no daemon life delivered a notice twice: every repeat came after a crash
    lives: dict[tuple[str, str], list[int]] = {}
    for notice in receiver.delivered():
        lives.setdefault((notice.job, notice.phase), []).append(notice.life)
    for key, seen in lives.items():
        assert len(seen) == len(set(seen)), (seed, key, seen, "delivered twice by one daemon life")
    # nothing false either: every phase notice names a phase the job really went through
    phases = {key: {"running", end} for key, end in terminal.items()}
    strays = [(job, phase) for (job, phase) in delivered if phase not in phases.get(job, set())]
    assert not strays, strays[:5]
