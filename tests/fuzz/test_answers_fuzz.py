"""Hostile API answers, in pairs, through every adapter and the differ, then to the store and the renderer;
and hostile answers served by the simulator to the real engine loop.

tests/unit/test_services_fuzz.py fuzzes one ``read`` at a time and tests/unit/test_diff.py random snapshot
pairs; here a job's previous and current answers are both hostile, and what the differ makes of them must
be storable (JSON, read back equal) and renderable in every channel format. The engine drill serves junk
through the wire: botocore parses it, the adapter reads it, and the loop must go on polling every job.
"""

from __future__ import annotations

import json
import random
import time
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from unit.test_services_fuzz import BASES, junk, mutated

from watcher.config import Settings
from watcher.diff import diff
from watcher.engine import Engine
from watcher.model import SERVICES, Event, EventKind, JobInfo, JobRef, Snapshot
from watcher.notify.render import Style, context, render
from watcher.services import adapter_for
from watcher.services.base import AnswerError
from watcher.simulator import SimulatorThread
from watcher.simulator.scripts import ENDS, RUNNING
from watcher.store import Store

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
STYLES = [Style(format=f, title_format="text" if f == "html" else f, max_length=4000)
          for f in ("text", "markdown", "html", "slack")]  # fmt: skip
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read(service: str, answer: Any) -> Snapshot | None:
    try:
        return adapter_for(service).read(answer)
    except AnswerError:
        return None  # the engine counts it a bad answer and polls again later


def check_events(service: str, events: list[Event], previous: Snapshot | None, current: Snapshot) -> None:
    info = JobInfo(ref=JobRef(service, {name: "x" for name in adapter_for(service).identity}), name="n")
    for event in events:
        assert isinstance(event.kind, EventKind) and event.job_key == "k" and event.service == service
        assert event.at == NOW
        assert not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in event.summary), event.summary
        stored = json.dumps(event.to_dict(), allow_nan=False)  # the store keeps events as JSON
        assert Event.from_dict(json.loads(stored)) == event
        for style in STYLES:  # the dispatcher renders each event for its channels
            message = render(context(event, info, current, hostname="h"), style)
            assert isinstance(message.title, str) and isinstance(message.body, str)
    # nothing twice, except the service's own event records: two identical ones are two records
    changes = [(e.kind, e.old, e.new, e.summary) for e in events if e.kind is not EventKind.JOB_EVENT]
    assert len(changes) == len(set(changes))
    if previous is not None and previous.phase is not current.phase:
        assert [e.kind for e in events].count(EventKind.PHASE) == 1


@FUZZ
@given(data=st.data(), service=st.sampled_from(SERVICES))
def test_two_hostile_answers_in_a_row_diff_into_storable_renderable_events(service: str, data: st.DataObject) -> None:
    before = read(service, data.draw(mutated(BASES[service]) | junk))
    after = read(service, data.draw(mutated(BASES[service]) | junk))
    if after is None:
        return
    events = diff("k", service, before, after, NOW)
    check_events(service, events, before, after)
    assert diff("k", service, after, after, NOW) == []


@FUZZ
@given(data=st.data(), service=st.sampled_from(SERVICES))
def test_a_restart_between_two_hostile_answers_changes_nothing(service: str, data: st.DataObject) -> None:
    # the engine diffs against the stored copy after a restart: the same events must come out
    before = read(service, data.draw(mutated(BASES[service])))
    after = read(service, data.draw(mutated(BASES[service])))
    if before is None or after is None:
        return
    stored = Snapshot.from_dict(json.loads(json.dumps(before.to_dict(), allow_nan=False)))
    assert diff("k", service, stored, after, NOW) == diff("k", service, before, after, NOW)


# -- hostile answers through the wire and the real engine --------------------------------------------------

json_junk = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.sampled_from(["RUNNING", "COMPLETED", "NEW_STATUS", "", "1970-01-01", "x" * 3000]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


def patches(base: Any) -> st.SearchStrategy[Any]:
    """A JSON merge patch for an answer shaped like ``base``: some fields replaced by junk (null removes)."""
    if isinstance(base, dict) and base:
        return st.dictionaries(st.sampled_from(sorted(base)), st.one_of(json_junk, patches_of(base)), max_size=3)
    return json_junk


def patches_of(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    nested = [value for value in base.values() if isinstance(value, dict)]
    return st.sampled_from(nested).flatmap(patches) if nested else json_junk


# each example runs a simulator and an engine for a second or two: few examples, and no shrinking (a failing
# example prints its draws, which is enough to rebuild it)
@settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
@pytest.mark.usefixtures("aws_env")  # the same dummy credentials for every example
def test_junk_served_by_the_simulator_never_stops_the_engine_loop(data: st.DataObject, tmp_path_factory: Any) -> None:
    wire_bases = {s: json.loads(json.dumps(BASES[s], default=str)) for s in SERVICES}
    workdir: Path = tmp_path_factory.mktemp("engine-fuzz")
    with SimulatorThread() as sim:
        settings_ = Settings.model_validate({
            "watcher": {"state": str(workdir / "state.db"), "poll_interval": 0.1, "max_poll_interval": 0.2,
                        "stuck_after": 0},
            "aws": {"region": "us-east-1", "endpoint_url": sim.url},
            "services": {s: {"rate_limit": 100} for s in SERVICES}, "api": {"enabled": False},
        })  # fmt: skip
        jobs = []
        for i in range(15):
            service = SERVICES[i % 5]
            script = [{"at": 0.15 * k, "fields": data.draw(patches(wire_bases[service]), label=f"{service}-{k}")}
                      for k in range(1, 4)]  # fmt: skip
            entry = sim.control.add_job(service, f"junk-{i}", script)
            jobs.append(JobInfo(ref=JobRef(service, entry["params"])))
        # one well-behaved job beside the junk: it must still be seen to its end
        plain = sim.control.add_job(
            "braket",
            "plain",
            [{"at": 0.2, "fields": RUNNING["braket"]}, {"at": 0.8, "fields": ENDS["braket"]["succeeded"]}],
        )
        plain_info = JobInfo(ref=JobRef("braket", plain["params"]))
        with Store.open(settings_.watcher.state) as store:
            engine = Engine(settings_, store, rng=random.Random(0))
            for info in [*jobs, plain_info]:
                engine.add(info, source="test")

            def settled() -> bool:
                # every junk job polled after its last change (or ended), the plain job ended
                states = [engine.get(info.key) for info in jobs]
                plain_state = engine.get(plain_info.key)
                polled = all(s is not None and (s.done or (s.last_poll_at or 0) > started + 0.5) for s in states)
                return polled and plain_state is not None and plain_state.done

            async def watch() -> None:
                await engine.ready.wait()
                with anyio.move_on_after(15):
                    while not settled():
                        await anyio.sleep(0.05)
                engine.stop()

            started = time.time()
            anyio.run(engine.run, watch, backend="asyncio")  # an escaped exception would raise here
            assert engine.fatal is None
            assert settled(), [(i.key, engine.get(i.key)) for i in jobs]
            final = store.job(plain_info.key)
            assert final is not None and final.done and final.snapshot is not None
            assert final.snapshot.phase.value == "succeeded"
            watched = {s.key for s in engine.watched()}
            for info in jobs:  # a job the junk did not end is still scheduled
                state = engine.get(info.key)
                assert state is not None and (state.done or (info.key in watched and state.next_poll_at))
