"""Reminders (repeat_interval) until acknowledged or the job moves on, and digests (group_window)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from notify.builders import add, commit, event, job, phase, snap
from notify.receivers import HttpReceiver
from support import until
from test_notify_delivery import make, titles

from watcher.model import EventKind, Phase
from watcher.notify import MuteConfig, Notifier, NotifySettings, RouteConfig
from watcher.notify.repeats import due_repeats
from watcher.store import Store

pytestmark = pytest.mark.anyio

REPEATING = [{"channels": ["hook"], "when": {"kind": ["phase", "stuck"]}, "repeat_interval": 0.2}]


async def test_a_failed_job_is_reminded_until_acknowledged(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    n = make({"hook": http_receiver.url("json")}, routes=REPEATING)
    info = job("etl")
    with Store.open(tmp_path / "s.db") as store:
        state = add(store, info)
        commit(
            store, n, state, [phase(info, "running", "failed")], snap(Phase.FAILED, "FAILED"), done_reason="terminal"
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(n.run, store)
            await http_receiver.wait_for(3, ok_only=True)
            assert n.acknowledge(store, info.key, comment="looking into it")
            tg.cancel_scope.cancel()
        assert titles(http_receiver.delivered())[:3] == [
            "❌ etl: running → failed",
            "❌ etl: running → failed (reminder 1)",
            "❌ etl: running → failed (reminder 2)",
        ]
        assert due_repeats(store, n.router, time.time() + 3600) == []
        assert store.outbox_depth() == 0  # a reminder queued before the acknowledgement was dropped
        assert store.acknowledged(info.key) is not None
        assert not n.acknowledge(store, "iot:unknown-job")
        # a new failure after the acknowledgement is a new alert
        commit(store, n, state, [phase(info, "failed", "running"), phase(info, "running", "failed")])
        assert due_repeats(store, n.router, time.time() + 1) == []  # its first notice is still on its way
        assert await n.drain(store, timeout=5) == 0
        [due] = due_repeats(store, n.router, time.time() + 1)
        assert due.channel == "hook" and due.number == 1


async def test_reminders_stop_when_a_stuck_job_moves_on_or_is_removed(tmp_path: Path) -> None:
    n = make({"hook": "json://127.0.0.1:9/"}, routes=REPEATING)
    later = time.time() + 3600
    with Store.open(tmp_path / "s.db") as store:
        moving, dropped, failed, fine = job("moving"), job("dropped"), job("failed"), job("fine")
        states = {info.display_name: add(store, info) for info in (moving, dropped, failed, fine)}
        for info in (moving, dropped):
            commit(store, n, states[info.display_name], [event(EventKind.STUCK, info, None, "running", seconds=7200)])
        commit(store, n, states["failed"], [phase(failed, "running", "failed")], done_reason="terminal")
        commit(store, n, states["fine"], [phase(fine, "running", "succeeded")], done_reason="terminal")
        store.mark_sent([row.id for row in store.dispatchable(time.time())], time.time())  # the first notices went
        names = {entry.id: entry.job.display_name for entry in store.history()}
        due = sorted(names[r.event_id] for r in due_repeats(store, n.router, later))
        assert due == ["dropped", "failed", "moving"]
        commit(store, n, states["moving"], [event(EventKind.PROGRESS, moving, moved={"succeeded": [1, 2]})])
        assert store.remove_job(dropped.key)
        assert [names[r.event_id] for r in due_repeats(store, n.router, later)] == ["failed"]
        # a failed job ended on its own: only an acknowledgement stops its reminders
        assert n.acknowledge(store, failed.key)
        assert due_repeats(store, n.router, later) == []


async def test_a_failure_muted_when_it_happened_is_reminded_after_the_mute(tmp_path: Path) -> None:
    now = [time.time()]
    start = datetime.now(UTC) - timedelta(hours=1)
    n = Notifier(
        NotifySettings(default_channels=["hook"], repeat_interval=60),
        [make({"hook": "json://127.0.0.1:9/"}).configs[0]],
        [],
        [MuteConfig(start=start, end=start + timedelta(hours=2), comment="maintenance")],
        clock=lambda: now[0],
    )
    info = job("night")
    with Store.open(tmp_path / "s.db") as store:
        assert commit(store, n, add(store, info), [phase(info, "running", "failed")], done_reason="terminal") == 0
        now[0] += 600  # ten minutes on: still muted
        assert due_repeats(store, n.router, now[0]) == []
        now[0] += 2 * 3600  # the mute is over
        [due] = due_repeats(store, n.router, now[0])
        assert (due.channel, due.number) == ("hook", 1)


async def test_events_within_the_group_window_arrive_as_one_digest(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    routes = [{"channels": ["hook"], "when": {"kind": ["phase"]}, "group_window": 0.3}]
    n = make({"hook": http_receiver.url("json")}, routes=routes)
    with Store.open(tmp_path / "s.db") as store:
        async with anyio.create_task_group() as tg:
            tg.start_soon(n.run, store)
            for name, new in (("alpha", "succeeded"), ("beta", "failed"), ("gamma", "cancelled")):
                info = job(name)
                commit(store, n, add(store, info), [phase(info, "running", new)])
                n.wake()
            await http_receiver.wait_for(1, ok_only=True)
            await until(lambda: store.outbox_depth() == 0, within=5.0, what="the digest marked sent")
            late = job("delta")
            commit(store, n, add(store, late), [phase(late, "queued", "running")])
            n.wake()
            await http_receiver.wait_for(2, ok_only=True)
            tg.cancel_scope.cancel()
        digest, single = (r["json"] for r in http_receiver.delivered())
        assert digest["title"] == "❌ jobwatch: 3 notifications (1 failure, 1 warning, 1 success)"
        assert digest["type"] == "failure"
        assert all(
            f"{name}: running → {new}" in digest["message"]
            for name, new in (("alpha", "succeeded"), ("beta", "failed"), ("gamma", "cancelled"))
        )
        assert single["title"] == "ℹ️ delta: queued → running"  # noqa: RUF001
        sent = [d["state"] for e in store.history() for d in e.deliveries]
        assert sent == ["sent"] * 4 and n.stats[("hook", "sent")] == 4


async def test_drain_sends_a_held_digest_at_once(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    n = make({"hook": http_receiver.url("json")}, group_window=3600)
    with Store.open(tmp_path / "s.db") as store:
        for name in ("one", "two"):
            info = job(name)
            commit(store, n, add(store, info), [phase(info, "running", "succeeded")])
        assert await n.drain(store, timeout=5) == 0
    [digest] = http_receiver.delivered()
    assert digest["json"]["title"] == "✅ jobwatch: 2 notifications (2 success)"


def test_route_settings_accept_continue_by_name() -> None:
    route = RouteConfig.model_validate({"channels": "hook", "continue": True, "repeat_interval": "4h"})
    assert route.continue_ and route.repeat_interval == 14400 and route.channels == ["hook"]
