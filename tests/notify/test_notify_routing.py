"""Routing: rules in order with Alertmanager's continue, the default route, a job's own channels, the
WATCHING baseline, and mutes (time windows, days, zones, date ranges, per channel)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from notify.builders import event, job, phase
from pydantic import ValidationError

from watcher.model import EventKind
from watcher.notify import MuteConfig, NotifySettings, RouteConfig
from watcher.notify.routing import Mute, Router

CHANNELS = ["team", "oncall", "audit", "mail"]


def router(
    routes: list[dict[str, Any]],
    mutes: list[dict[str, Any]] | None = None,
    *,
    now: datetime | None = None,
    **notify: Any,
) -> Router:
    moment = (now or datetime(2024, 5, 1, 12, 0, tzinfo=UTC)).timestamp()
    return Router(
        NotifySettings(**notify),
        [RouteConfig.model_validate(r) for r in routes],
        [MuteConfig.model_validate(m) for m in mutes or []],
        clock=lambda: moment,
    )


RULES = [
    {"channels": ["oncall"], "when": {"phase": ["failed"], "tags": ["prod"]}},
    {"channels": ["audit"], "when": {"service": "braket"}, "continue": True},
    {"channels": ["team"], "when": {"phase": ["succeeded", "failed", "cancelled"]}},
    {"channels": ["mail"], "when": {"kind": ["stuck", "vanished"], "job": ["nightly*"]}},
]

MATRIX = [
    # (job, event, expected channels)
    ("prod failure stops at the first rule", job("etl", tags=["prod"]), ("phase", "running", "failed"), ["oncall"]),
    ("untagged failure falls to the team rule", job("etl"), ("phase", "running", "failed"), ["team"]),
    (
        "continue lets a braket success reach the team too",
        job("vqe", service="braket"),
        ("phase", "running", "succeeded"),
        ["audit", "team"],
    ),
    (
        "braket running matches only the continue rule",
        job("vqe", service="braket"),
        ("phase", "queued", "running"),
        ["audit"],
    ),
    ("a stuck nightly job goes to mail", job("nightly-build"), ("stuck", None, "running"), ["mail"]),
    ("a stuck job of another name matches nothing", job("adhoc"), ("stuck", None, "running"), []),
    ("running matches no rule and there is no default", job("etl"), ("phase", "queued", "running"), []),
    (
        "a failed prod braket job stops at oncall",
        job("vqe", service="braket", tags=["prod"]),
        ("phase", "running", "failed"),
        ["oncall"],
    ),
    ("the watching baseline goes nowhere", job("etl", service="braket"), ("watching", None, "running"), []),
]


@pytest.mark.parametrize(("info", "change", "expected"), [case[1:] for case in MATRIX], ids=[c[0] for c in MATRIX])
def test_routing_matrix(info: Any, change: tuple[str, str | None, str | None], expected: list[str]) -> None:
    kind, old, new = change
    assert router(RULES).route(event(EventKind(kind), info, old, new), info) == expected


def test_default_route_takes_what_no_rule_matched_and_skips_progress_and_watching() -> None:
    r = router(RULES, default_channels=["team", "audit"])
    info = job("etl")
    assert r.route(phase(info, "queued", "running"), info) == ["team", "audit"]
    assert r.route(phase(info, "running", "failed"), info) == ["team"]  # a rule matched: no default
    assert r.route(event(EventKind.PROGRESS, info, moved={"passed": [1, 2]}), info) == []
    assert r.route(event(EventKind.WATCHING, info, new="running"), info) == []


def test_default_kinds_can_include_progress() -> None:
    r = router([], default_channels=["team"], default_kinds=["progress"])
    info = job("etl")
    assert r.route(event(EventKind.PROGRESS, info, moved={"passed": [1, 2]}), info) == ["team"]
    assert r.route(phase(info, "queued", "running"), info) == []


def test_a_jobs_own_channels_add_to_the_rules_without_duplicates() -> None:
    info = job("etl", channels=["mail", "team"])
    assert router(RULES).route(phase(info, "running", "failed"), info) == ["team", "mail"]
    assert router(RULES).route(event(EventKind.WATCHING, info, new="running"), info) == []


def test_watching_goes_where_a_rule_names_it_explicitly() -> None:
    r = router([{"channels": ["audit"], "when": {"kind": ["watching", "phase"]}}])
    info = job("etl")
    assert r.route(event(EventKind.WATCHING, info, new="queued"), info) == ["audit"]


def test_status_and_result_match_raw_values_case_insensitively() -> None:
    r = router(
        [
            {"channels": ["team"], "when": {"status": ["failed"]}},
            {"channels": ["audit"], "when": {"result": ["ERRORED"]}},
        ]
    )
    info = job("etl", service="devicefarm")
    as_phase = phase(info, "running", "failed", status=["RUNNING", "FAILED"])
    assert r.route(as_phase, info) == ["team"]
    assert r.route(event(EventKind.RESULT, info, "PENDING", "errored"), info) == ["audit"]
    assert r.route(event(EventKind.STATUS, info, "PENDING", "RUNNING", phase="running"), info) == []


def test_phase_of_a_non_phase_event_comes_from_its_detail() -> None:
    r = router([{"channels": ["team"], "when": {"phase": ["running"], "kind": ["status"]}}])
    info = job("etl")
    assert r.route(event(EventKind.STATUS, info, "A", "B", phase="running"), info) == ["team"]
    assert r.route(event(EventKind.STATUS, info, "A", "B", phase="queued"), info) == []


def test_job_globs_match_the_name_or_the_key() -> None:
    r = router([{"channels": ["team"], "when": {"job": ["iot:nightly-*", "*VQE*"]}}])
    by_key, by_name, neither = job("x", ident="nightly-7"), job("big VQE run"), job("other")
    for info, expected in ((by_key, ["team"]), (by_name, ["team"]), (neither, [])):
        assert r.route(phase(info, "running", "failed"), info) == expected


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        ({"service": ["bracket"]}, "unknown service 'bracket'"),
        ({"phase": ["done"]}, "unknown phase 'done'"),
        ({"kind": ["transition"]}, "unknown event kind 'transition'"),
        ({"colour": ["red"]}, "colour"),
    ],
)
def test_rules_with_unknown_fields_or_values_are_rejected(when: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RouteConfig.model_validate({"channels": ["team"], "when": when})
    assert problem in str(caught.value)


# -- mutes -------------------------------------------------------------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("mute", "moment", "active"),
    [
        ({"between": "22:00-07:00", "timezone": "UTC"}, "2024-05-01T23:30:00+00:00", True),
        ({"between": "22:00-07:00", "timezone": "UTC"}, "2024-05-01T06:59:00+00:00", True),
        ({"between": "22:00-07:00", "timezone": "UTC"}, "2024-05-01T07:00:00+00:00", False),
        ({"between": "22:00-07:00", "timezone": "UTC"}, "2024-05-01T12:00:00+00:00", False),
        ({"between": "09:00-17:00", "timezone": "UTC"}, "2024-05-01T12:00:00+00:00", True),
        # Friday night's window runs into Saturday morning; Saturday night's does not exist
        ({"between": "22:00-07:00", "days": ["fri"], "timezone": "UTC"}, "2024-05-04T03:00:00+00:00", True),
        ({"between": "22:00-07:00", "days": ["fri"], "timezone": "UTC"}, "2024-05-04T23:00:00+00:00", False),
        ({"between": "22:00-07:00", "days": ["Friday"], "timezone": "UTC"}, "2024-05-03T22:30:00+00:00", True),
        # 21:30 UTC is 23:30 in Berlin (CEST)
        ({"between": "22:00-07:00", "timezone": "Europe/Berlin"}, "2024-05-01T21:30:00+00:00", True),
        ({"between": "22:00-07:00", "timezone": "Europe/Berlin"}, "2024-05-01T19:30:00+00:00", False),
        ({"start": "2024-05-01T10:00:00+00:00", "end": "2024-05-01T14:00:00+00:00"}, "2024-05-01T12:00:00+00:00", True),
        (
            {"start": "2024-05-01T10:00:00+00:00", "end": "2024-05-01T14:00:00+00:00"},
            "2024-05-01T14:00:00+00:00",
            False,
        ),
        ({}, "2024-05-01T12:00:00+00:00", True),
    ],
)
def test_mute_windows(mute: dict[str, Any], moment: str, active: bool) -> None:
    assert Mute.of(MuteConfig.model_validate(mute)).active(at(moment)) is active


def test_a_muted_event_is_owed_to_no_channel_while_the_mute_lasts() -> None:
    mutes = [
        {"service": "iot", "job": ["nightly*"], "between": "22:00-07:00", "timezone": "UTC", "comment": "maintenance"}
    ]
    info, other = job("nightly-etl"), job("daytime")
    night = router(RULES, mutes, now=at("2024-05-01T23:00:00+00:00"))
    day = router(RULES, mutes, now=at("2024-05-01T12:00:00+00:00"))
    failed = phase(info, "running", "failed")
    assert night.route(failed, info) == []
    assert day.route(failed, info) == ["team"]
    assert night.route(phase(other, "running", "failed"), other) == ["team"]


def test_a_mute_may_silence_some_channels_and_kinds_only() -> None:
    r = router(RULES, [{"channels": ["team"], "kind": ["phase"]}], default_channels=["audit"])
    info = job("etl", channels=["mail"])
    assert r.route(phase(info, "running", "failed"), info) == ["mail"]
    assert r.route(event(EventKind.STATUS, info, "A", "B"), info) == ["audit", "mail"]


@pytest.mark.parametrize(
    ("mute", "problem"),
    [
        ({"between": "25:00-07:00"}, "out of range"),
        ({"between": "evening"}, "not a time window"),
        ({"between": "22:00-07:00", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"days": ["mon"]}, "days needs a between window"),
        ({"between": "22:00-07:00", "days": ["someday"]}, "unknown day"),
        ({"start": "2024-05-02T00:00:00Z", "end": "2024-05-01T00:00:00Z"}, "end must be after start"),
    ],
)
def test_bad_mutes_are_rejected_with_the_reason(mute: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MuteConfig.model_validate(mute)
    assert problem in str(caught.value)
