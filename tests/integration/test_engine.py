"""The real engine against the simulator: real aiobotocore, real SQLite, a real HTTP receiver for apprise."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from support import quick_settings

from watcher.config import Settings
from watcher.engine import Engine
from watcher.model import EventKind, JobInfo, JobRef, Phase
from watcher.notify import Notifier
from watcher.simulator.scripts import ENDS, lifecycle
from watcher.store import Store

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("aws_env")]


def settings_for(sim: Any, tmp_path: Path, receiver_url: str | None, **watcher: Any) -> Settings:
    """The shared quick settings (API off: these tests drive the engine alone), plus a hook channel if given."""
    extra: dict[str, Any] = {"api": {"enabled": False}}
    if watcher:
        extra["watcher"] = watcher
    if receiver_url:
        extra["channels"] = [{"name": "hook", "url": receiver_url}]
        extra["routes"] = [{"channels": ["hook"], "when": {"kind": ["phase", "vanished", "stuck", "error"]}}]
    return quick_settings(sim.url, tmp_path, **extra)


def add_sim_job(
    sim: Any, service: str, name: str, end: str | None, *, at: float = 0.6, extra: list[dict[str, Any]] | None = None
) -> JobInfo:
    entry = sim.control.add_job(service, name, lifecycle(service, end, end_at=at, extra=extra))
    return JobInfo(ref=JobRef(service, entry["params"]), name=name)


async def run_until(engine: Engine, done: Callable[[], bool], timeout: float = 20.0) -> None:
    """Run the engine until ``done()`` holds (checked every 50 ms), then stop it; fail after ``timeout``."""

    async def watch() -> None:
        await engine.ready.wait()
        while not done():
            await anyio.sleep(0.05)
        engine.stop()

    with anyio.fail_after(timeout):
        await engine.run(watch)


def notices(receiver: Any) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) if isinstance(r.get("body"), str) else r["json"] for r in receiver.requests]


async def test_all_five_services_through_success_failure_and_cancellation(
    sim: Any, tmp_path: Path, http_receiver: Any
) -> None:
    settings = settings_for(sim, tmp_path, http_receiver.url("json"))
    with Store.open(settings.watcher.state) as store:
        notifier = Notifier.from_settings(settings)
        engine = Engine(settings, store, notifier)
        expected = {}
        for service in ENDS:
            for end in ENDS[service]:
                info = add_sim_job(sim, service, f"{service}-{end}", end)
                engine.add(info, source="test")
                expected[info.key] = end
        await run_until(engine, lambda: not engine.watched() and store.outbox_depth() == 0)
        for key, end in expected.items():
            state = store.job(key)
            assert state is not None and state.snapshot is not None
            assert state.done and state.done_reason == "terminal"
            assert state.snapshot.phase == Phase(end), key
            history = list(reversed(store.history(key)))  # oldest first
            assert history[0].event.kind is EventKind.WATCHING  # the baseline, not a transition
            phases = [e.event.new for e in history if e.event.kind is EventKind.PHASE]
            assert phases[-1] == end
        text = engine.metrics.render().decode()
    sent = len(http_receiver.requests)
    assert f'jobwatch_notifications_total{{channel="hook",outcome="sent"}} {float(sent)}' in text
    assert 'jobwatch_polls_total{outcome="ok",service="braket"}' in text
    bodies = notices(http_receiver)
    terminal = [
        b for b in bodies if any(p in (b["title"] + b["message"]).lower() for p in ("succeeded", "failed", "cancelled"))
    ]
    assert len(terminal) >= 14
    for service in ENDS:
        for end in ENDS[service]:
            assert any(f"{service}-{end}" in b["title"] + b["message"] for b in terminal), (service, end)
    types = Counter(b["type"] for b in bodies)
    assert types["success"] >= 5 and types["failure"] >= 4 and types["warning"] >= 5


async def test_a_job_that_vanishes_is_confirmed_then_reported_once(
    sim: Any, tmp_path: Path, http_receiver: Any
) -> None:
    settings = settings_for(sim, tmp_path, http_receiver.url("json"))
    with Store.open(settings.watcher.state) as store:
        engine = Engine(settings, store, Notifier.from_settings(settings))
        info = add_sim_job(sim, "braket", "short-lived", None)
        engine.add(info)

        async def vanish_after_first_answer() -> None:
            while store.job(info.key).snapshot is None:  # type: ignore[union-attr]
                await anyio.sleep(0.05)
            sim.control.vanish("braket", "short-lived")

        async with anyio.create_task_group() as tg:
            tg.start_soon(vanish_after_first_answer)
            await run_until(engine, lambda: not engine.watched() and store.outbox_depth() == 0)
        state = store.job(info.key)
        assert state is not None and state.done_reason == "vanished"
        kinds = [e.event.kind for e in store.history(info.key)]
        assert kinds.count(EventKind.VANISHED) == 1
    assert sum("short-lived" in b["title"] + b["message"] for b in notices(http_receiver)) == 1


async def test_an_unknown_status_is_reported_and_the_loop_goes_on(sim: Any, tmp_path: Path) -> None:
    settings = settings_for(sim, tmp_path, None)
    with Store.open(settings.watcher.state) as store:
        engine = Engine(settings, store)
        info = add_sim_job(
            sim,
            "amplify",
            "odd-one",
            "succeeded",
            at=1.0,
            extra=[{"at": 0.5, "fields": {"job": {"summary": {"status": "REBASING"}}}}],
        )
        other = add_sim_job(sim, "iot", "plain-one", "succeeded")
        engine.add(info)
        engine.add(other)
        await run_until(engine, lambda: not engine.watched())
        phases = [e.event.new for e in reversed(store.history(info.key)) if e.event.kind is EventKind.PHASE]
        assert "unknown" in phases and phases[-1] == "succeeded"
        assert store.job(other.key).snapshot.phase is Phase.SUCCEEDED  # type: ignore[union-attr]


async def test_throttle_storm_is_survived_under_the_rate_limit(sim: Any, tmp_path: Path) -> None:
    limit = 8
    settings = settings_for(sim, tmp_path, None, poll_interval=0.1, max_poll_interval=0.2)
    settings = settings.model_copy(
        update={
            "services": {**settings.services, "iot": settings.service("iot").model_copy(update={"rate_limit": limit})}
        }
    )
    sim.control.faults(throttle_rate=0.3, services=["iot"])
    with Store.open(settings.watcher.state) as store:
        engine = Engine(settings, store)
        infos = [add_sim_job(sim, "iot", f"rollout-{i}", "succeeded", at=2.0) for i in range(8)]
        for info in infos:
            engine.add(info)
        await run_until(engine, lambda: not engine.watched(), timeout=40)
        stats = sim.control.stats()
        assert stats["peak_rps"]["iot"] <= limit
        throttles = sum(v.get("throttles", 0) for k, v in stats["operations"].items() if k.startswith("iot:"))
        assert throttles > 0
        assert engine.metrics.throttles.labels("iot")._value.get() == throttles
        for info in infos:
            kinds = [e.event.kind for e in store.history(info.key)]
            phases = [e.event.new for e in reversed(store.history(info.key)) if e.event.kind is EventKind.PHASE]
            assert EventKind.VANISHED not in kinds and EventKind.ERROR not in kinds
            assert phases[-1] == "succeeded" and set(phases) <= {"running", "succeeded"}, (info.key, phases)


async def test_a_job_with_no_change_for_too_long_is_stuck_once(sim: Any, tmp_path: Path) -> None:
    settings = settings_for(sim, tmp_path, None, stuck_after=0.6)
    with Store.open(settings.watcher.state) as store:
        engine = Engine(settings, store)
        info = add_sim_job(sim, "deadline", "frozen-render", "succeeded", at=2.5)
        engine.add(info)
        await run_until(engine, lambda: not engine.watched())
        kinds = [e.event.kind for e in store.history(info.key)]
        assert kinds.count(EventKind.STUCK) == 1
        assert store.job(info.key).snapshot.phase is Phase.SUCCEEDED  # type: ignore[union-attr]


async def test_a_job_running_past_its_own_time_limit_is_stuck_once(sim: Any, tmp_path: Path) -> None:
    settings = settings_for(sim, tmp_path, None)  # stuck_after is off: only the job's own limit applies
    with Store.open(settings.watcher.state) as store:
        engine = Engine(settings, store)
        started = time.time()
        info = add_sim_job(
            sim,
            "braket",
            "overrun",
            "succeeded",
            at=3.0,
            extra=[
                {"at": 0.0, "fields": {"stoppingCondition": {"maxRuntimeInSeconds": 1}, "startedAt": started}},
                {"at": 0.3, "fields": {"billableDuration": 300}},
            ],
        )
        engine.add(info)
        await run_until(engine, lambda: not engine.watched())
        stuck = [e.event for e in store.history(info.key) if e.event.kind is EventKind.STUCK]
        assert len(stuck) == 1
        assert stuck[0].detail["limit_seconds"] == 1 and stuck[0].detail["seconds"] >= 1
        assert "past its own limit of 1s" in stuck[0].summary


async def test_with_role_arn_every_call_is_signed_with_the_assumed_roles_keys(sim: Any, tmp_path: Path) -> None:
    settings = settings_for(sim, tmp_path, None)
    role = "arn:aws:iam::123456789012:role/jobwatch-reader"
    settings = settings.model_copy(update={"aws": settings.aws.model_copy(update={"role_arn": role})})
    with Store.open(settings.watcher.state) as store:
        engine = Engine(settings, store)
        infos = [add_sim_job(sim, service, f"{service}-as-role", "succeeded") for service in ("braket", "iot")]
        for info in infos:
            engine.add(info)
        await run_until(engine, lambda: not engine.watched())
    stats = sim.control.stats()
    assert stats["operations"]["sts:AssumeRole"]["requests"] >= 1
    polls = stats["operations"]["braket:GetJob"]["requests"] + stats["operations"]["iot:DescribeJob"]["requests"]
    signers = stats["access_keys"]
    # STS is called with the source keys ("testing"); every poll with temporary role keys.
    assert sum(v["requests"] for k, v in signers.items() if k.startswith("ASIA")) == polls
    assert signers["testing"]["requests"] == stats["operations"]["sts:AssumeRole"]["requests"]


async def test_restart_mid_run_neither_loses_nor_repeats_a_notification(
    sim: Any, tmp_path: Path, http_receiver: Any
) -> None:
    settings = settings_for(sim, tmp_path, http_receiver.url("json"))
    created = anyio.current_time()
    infos = [add_sim_job(sim, service, f"{service}-restart", "succeeded", at=3.0) for service in ENDS]
    with Store.open(settings.watcher.state) as store:
        engine = Engine(settings, store, Notifier.from_settings(settings))
        for info in infos:
            engine.add(info)
        # First life: until every job was seen running, then stop as on SIGTERM.
        await run_until(
            engine,
            lambda: (
                len(engine.watched()) == 5
                and all(s.snapshot is not None and s.snapshot.phase is Phase.RUNNING for s in engine.watched())
            ),
        )
        assert all(not s.done for s in store.jobs()), "the jobs must still run when the daemon stops"
    await anyio.sleep(max(0.0, created + 3.3 - anyio.current_time()))  # the jobs end while the daemon is down
    with Store.open(settings.watcher.state) as store:
        engine = Engine(settings, store, Notifier.from_settings(settings))
        await run_until(engine, lambda: not engine.watched() and store.outbox_depth() == 0)
    per_job: Counter[str] = Counter()
    for body in notices(http_receiver):
        for info in infos:
            assert info.name is not None
            if info.name in body["title"] + body["message"] and "succeeded" in (body["title"] + body["message"]):
                per_job[info.name] += 1
    assert per_job == {info.name: 1 for info in infos}
