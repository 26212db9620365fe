"""The store's dispatch queries: a job's rows leave in order per channel, busy channels are skipped, and the
next wake-up is the earliest row that can actually be sent."""

from __future__ import annotations

import time
from pathlib import Path

from notify.builders import add, event, job

from watcher.model import EventKind
from watcher.store import Store


def test_a_later_row_waits_for_an_earlier_row_of_the_same_job_and_channel(tmp_path: Path) -> None:
    now = time.time()
    a, b = job("a"), job("b")
    with Store.open(tmp_path / "s.db") as store:
        sa, sb = add(store, a), add(store, b)
        for step in (1, 2):
            for info, state in ((a, sa), (b, sb)):
                ev = event(EventKind.STATUS, info, f"S{step - 1}", f"S{step}")
                store.commit_poll(state, [ev], lambda e, j: ["x", "y"], now)
        rows = store.dispatchable(now)
        assert len(rows) == 8 and [r.id for r in rows] == sorted(r.id for r in rows)
        first_a_x = next(r for r in rows if r.event.job_key == a.key and r.channel == "x")
        store.mark_retry([first_a_x.id], now + 60, "503")
        left = {(r.event.job_key, r.channel, r.event.new) for r in store.dispatchable(now)}
        assert (a.key, "x", "S2") not in left  # waits behind S1, which is backing off
        assert {(a.key, "y", "S1"), (a.key, "y", "S2"), (b.key, "x", "S2")} <= left and len(left) == 6
        assert {r.channel for r in store.dispatchable(now, skip=["y"])} == {"x"}
        store.mark_sent([r.id for r in store.dispatchable(now)], now)
        # only a's x rows are left: S2 is "due" but blocked, so the next wake-up is S1's retry
        assert store.next_dispatch_at(now) == now + 60
        assert store.next_dispatch_at(now, skip=["x"]) is None
        assert store.dispatchable(now + 61)[0].id == first_a_x.id


def test_flush_takes_rows_held_back_without_an_attempt(tmp_path: Path) -> None:
    now = time.time()
    info = job("held")
    with Store.open(tmp_path / "s.db") as store:
        store.commit_poll(
            add(store, info), [event(EventKind.PHASE, info, "running", "failed")], lambda e, j: ["x"], now
        )
        [row] = store.dispatchable(now)
        store.defer([row.id], now + 3600)  # held for a digest
        assert store.dispatchable(now) == []
        assert [r.id for r in store.dispatchable(now, flush=True)] == [row.id]
        store.mark_retry([row.id], now + 3600, "timeout")  # tried and failed: flush leaves it to its backoff
        assert store.dispatchable(now, flush=True) == []
