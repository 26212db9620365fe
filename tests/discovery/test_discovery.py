"""Discovery rules against the simulator: new jobs found while running, pages followed, globs, terminal jobs."""

from __future__ import annotations

import time
from typing import Any

import pytest

from watcher.model import EventKind
from watcher.simulator.scripts import ENDS, RUNNING

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("aws_env")]

DONE: dict[str, dict[str, Any]] = {service: ENDS[service]["succeeded"] for service in ("iot", "braket")}


def add(sim: Any, service: str, name: str, fields: dict[str, Any] | None = None) -> dict[str, str]:
    """A simulated job in its service's default group; its identity params."""
    entry = sim.control.add_job(service, name, [{"at": 0, "fields": fields or RUNNING[service]}])
    params: dict[str, str] = entry["params"]
    return params


def rule_for(service: str, params: dict[str, str], **extra: Any) -> dict[str, Any]:
    """A discovery rule listing the group ``params`` belongs to."""
    group = {
        "devicefarm": {"arn": params.get("arn", "").replace(":job:", ":run:").rsplit("/", 1)[0]},
        "deadline": {"farmId": params.get("farmId"), "queueId": params.get("queueId")},
        "amplify": {"appId": params.get("appId"), "branchName": params.get("branchName")},
        "iot": {},
        "braket": {},
    }[service]
    return {"service": service, "interval": 0.2, **group, **extra}


async def test_every_service_finds_jobs_created_later_across_pages_without_restart(
    sim: Any, daemon_settings: Any, api_daemon: Any, wait_until: Any
) -> None:
    first: dict[str, dict[str, str]] = {}
    for service in RUNNING:
        # Device Farm answers 25 jobs a page: 27 make the rule follow a nextToken
        count = 27 if service == "devicefarm" else 2
        for i in range(count):
            first[f"{service}-{i}"] = add(sim, service, f"{service}-early-{i}")
    rules = [rule_for(s, next(p for k, p in first.items() if k.startswith(s))) for s in RUNNING]
    settings = daemon_settings(discover=rules)
    async with api_daemon(settings) as d:
        await wait_until(lambda: len(d.store.jobs()) == len(first), what="every early job")
        assert all(rule.rounds >= 1 for rule in d.rules)
        later = {service: add(sim, service, f"{service}-late") for service in RUNNING}
        await wait_until(lambda: len(d.store.jobs()) == len(first) + len(later), what="the jobs created later")
        sources = {state.source for state in d.store.jobs()}
        assert sources == {"discovery"}
        for service in RUNNING:
            found = d.engine.metrics.discovered.labels(service)._value.get()
            assert found == (28 if service == "devicefarm" else 3), service
        stats = sim.control.stats()["operations"]
    # 27 Device Farm jobs in one run are more than its 25-job page: every round followed a nextToken
    assert stats["devicefarm:ListJobs"]["requests"] >= 2 * d.rules[0].rounds
    assert all(
        f"{service}:" + op in stats
        for service, op in [
            ("deadline", "ListJobs"),
            ("amplify", "ListJobs"),
            ("iot", "ListJobs"),
            ("braket", "SearchJobs"),
        ]
    )


async def test_name_glob_tags_and_jobs_already_over_when_found(
    sim: Any, daemon_settings: Any, api_daemon: Any, wait_until: Any
) -> None:
    nightly = add(sim, "braket", "nightly-41")
    add(sim, "braket", "adhoc-7")
    old = add(sim, "braket", "nightly-40", DONE["braket"])
    iot_old = add(sim, "iot", "fleet-update-3", DONE["iot"])
    settings = daemon_settings(
        discover=[
            rule_for("braket", nightly, match="nightly-*", tags=["ci", "quantum"]),
            rule_for("iot", iot_old, announce_terminal=True),
        ]
    )
    async with api_daemon(settings) as d:
        keys = {f"braket:{nightly['jobArn']}", f"braket:{old['jobArn']}", f"iot:{iot_old['jobId']}"}
        await wait_until(
            lambda: {s.key for s in d.store.jobs()} == keys and all(s.snapshot for s in d.store.jobs()),
            what="the matching jobs polled",
        )
        await wait_until(lambda: d.store.job(f"iot:{iot_old['jobId']}").done, what="the iot job recorded as ended")
        watched = d.store.job(f"braket:{nightly['jobArn']}")
        assert watched is not None and watched.info.tags == ("ci", "quantum") and watched.info.name == "nightly-41"
        assert not watched.done

        recorded = d.store.job(f"braket:{old['jobArn']}")
        assert recorded is not None and recorded.done and recorded.done_reason == "terminal"
        kinds = [e.event.kind for e in d.store.history(recorded.key)]
        assert kinds == [EventKind.WATCHING]  # recorded, not announced

        announced = [e.event for e in d.store.history(f"iot:{iot_old['jobId']}")]
        assert [e.kind for e in reversed(announced)] == [EventKind.WATCHING, EventKind.PHASE]
        assert "already succeeded" in announced[0].summary


async def test_a_removed_job_is_not_brought_back_and_failed_rounds_are_retried(
    sim: Any, daemon_settings: Any, api_daemon: Any, wait_until: Any
) -> None:
    first = add(sim, "amplify", "build-1")
    sim.control.faults(error_rate=1.0, services=["amplify"])
    async with api_daemon(daemon_settings(discover=[rule_for("amplify", first, interval=0.1)])) as d:
        rule = d.rules[0]
        await wait_until(lambda: rule.failures >= 2, what="two failed rounds")
        assert d.store.jobs() == []
        sim.control.faults()
        await wait_until(lambda: len(d.store.jobs()) == 1, within=15, what="the round after the fault")
        assert rule.failures == 0
        key = d.store.jobs()[0].key
        assert d.engine.remove(key)
        rounds = rule.rounds
        add(sim, "amplify", "build-2")
        await wait_until(lambda: len(d.store.jobs()) == 2 and rule.rounds >= rounds + 2, what="the next job")
        assert d.store.job(key).done_reason == "removed"  # type: ignore[union-attr]
        assert [s.info.ref.params["jobId"] for s in d.engine.watched()] == ["2"]


async def test_discovery_shares_the_services_rate_limit_with_polls(
    sim: Any, daemon_settings: Any, api_daemon: Any, wait_until: Any
) -> None:
    limit = 10
    for i in range(3):
        add(sim, "iot", f"rollout-{i}")
    # lists every 50 ms and three jobs polled every 50 ms ask for about 80 calls a second
    settings = daemon_settings(
        watcher={"poll_interval": 0.05, "max_poll_interval": 0.05},
        services={"iot": {"rate_limit": limit}},
        discover=[{"service": "iot", "interval": 0.05}],
    )
    started = time.monotonic()
    async with api_daemon(settings) as d:

        def calls(operation: str) -> int:
            return int(sim.control.stats()["operations"].get(f"iot:{operation}", {}).get("requests", 0))

        await wait_until(
            lambda: calls("ListJobs") >= 5 and calls("DescribeJob") >= 10,
            within=15,
            what="lists and polls competing for the limit",
        )
        assert len(d.engine.watched()) == 3
    elapsed = time.monotonic() - started
    total = calls("ListJobs") + calls("DescribeJob")
    burst = d.engine.bucket("iot", "us-east-1").burst
    # the bucket's rate over the whole run, plus the burst it may save up at the start
    assert total <= limit * elapsed + burst + 1, (total, elapsed)
