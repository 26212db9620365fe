"""The local HTTP API over 127.0.0.1: a real engine, aiobotocore against the simulator, a SQLite file."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from watcher.api import parse_job_request
from watcher.config import load_settings
from watcher.errors import ConfigError

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("aws_env")]

TOKEN = "s3cret-token-for-tests-0123456789"


def braket_job(sim: Any, name: str, end_at: float | None = None, status: str = "COMPLETED") -> str:
    """A simulated Braket job, running at once, ending at ``end_at`` seconds; its ARN."""
    script: list[dict[str, Any]] = [{"at": 0, "fields": {"status": "RUNNING"}}]
    if end_at is not None:
        script.append({"at": end_at, "fields": {"status": status}})
    arn: str = sim.control.add_job("braket", name, script)["params"]["jobArn"]
    return arn


async def call(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None, **kwargs: Any
) -> tuple[int, Any]:
    async with session.request(method, url, json=body, **kwargs) as answer:
        payload = await answer.json(content_type=None) if answer.content_type == "application/json" else None
        return answer.status, payload if payload is not None else await answer.text()


async def test_add_get_list_and_remove_a_job(sim: Any, daemon_settings: Any, api_daemon: Any, wait_until: Any) -> None:
    arn = braket_job(sim, "vqe-h2")
    async with api_daemon(daemon_settings()) as d, aiohttp.ClientSession() as http:
        body = {"service": "braket", "params": {"jobArn": arn}, "name": "VQE H2", "tags": ["chem"], "interval": "1s"}
        status, answer = await call(http, "POST", f"{d.url}/jobs", body)
        assert status == 201, answer
        key = answer["key"]
        assert key == f"braket:{arn}" and answer["job"]["name"] == "VQE H2" and answer["job"]["tags"] == ["chem"]
        status, again = await call(http, "POST", f"{d.url}/jobs", body)
        assert status == 200 and again["key"] == key  # already watched: not added twice
        assert [s.key for s in d.engine.watched()] == [key]

        await wait_until(lambda: d.engine.get(key).snapshot is not None, what="the first poll")
        status, listing = await call(http, "GET", f"{d.url}/jobs")
        assert status == 200 and [j["key"] for j in listing["jobs"]] == [key]
        assert listing["jobs"][0]["phase"] == "running" and listing["jobs"][0]["status"] == "RUNNING"

        status, one = await call(http, "GET", f"{d.url}/jobs/{quote(key, safe='')}")
        assert status == 200
        assert one["job"]["key"] == key and one["snapshot"]["status"] == "RUNNING"
        assert [e["kind"] for e in one["events"]] == ["watching"]

        status, removed = await call(http, "DELETE", f"{d.url}/jobs/{quote(key, safe='')}")
        assert (status, removed) == (200, {"removed": key})
        assert d.engine.watched() == []
        status, missing = await call(http, "DELETE", f"{d.url}/jobs/{quote(key, safe='')}")
        assert status == 404 and missing["field"] == "key"
        status, listing = await call(http, "GET", f"{d.url}/jobs")
        assert listing["jobs"] == []
        status, everything = await call(http, "GET", f"{d.url}/jobs?all=1")
        assert [(j["key"], j["done_reason"]) for j in everything["jobs"]] == [(key, "removed")]
        status, _ = await call(http, "GET", f"{d.url}/jobs/{quote('braket:nope', safe='')}")
        assert status == 404


async def test_a_deadline_key_with_slashes_works_percent_encoded_or_not(
    sim: Any, daemon_settings: Any, api_daemon: Any
) -> None:
    params = sim.control.add_job("deadline", "render-7", [{"at": 0, "fields": {"taskRunStatus": "RUNNING"}}])["params"]
    async with api_daemon(daemon_settings()) as d, aiohttp.ClientSession() as http:
        status, answer = await call(http, "POST", f"{d.url}/jobs", {"service": "deadline", "params": params})
        assert status == 201, answer
        key = answer["key"]
        assert key.count("/") == 2
        status, one = await call(http, "GET", f"{d.url}/jobs/{key}")
        assert status == 200 and one["job"]["key"] == key
        status, _ = await call(http, "DELETE", f"{d.url}/jobs/{quote(key, safe='')}")
        assert status == 200


INVALID: list[tuple[Any, int, str | None, str]] = [
    # body, status, field named, text the message must hold
    ("not json at all", 400, None, "not valid JSON"),
    ([1, 2], 400, None, "JSON object"),
    ({"params": {"jobArn": "x"}}, 400, "service", "required"),
    ({"service": "batch", "params": {"jobArn": "x"}}, 400, "service", "unknown service 'batch'"),
    ({"service": "braket"}, 400, "params", "params"),
    ({"service": "braket", "params": "arn"}, 400, "params", "params"),
    ({"service": "braket", "params": {"jobArn": "arn:aws:braket:nope"}}, 400, "params.jobArn", "jobArn"),
    ({"service": "braket", "params": {"jobId": "1"}}, 400, "params.jobArn", "missing field 'jobArn'"),
    (
        {"service": "deadline", "params": {"farmId": "farm-0123456789abcdef0123456789abcdef"}},
        400,
        "params.queueId",
        "queueId",
    ),
    (
        {"service": "braket", "params": {"jobArn": "@ARN@", "extra": "1"}},
        400,
        "params.extra",
        "unexpected field 'extra'",
    ),
    ({"service": "braket", "params": {"jobArn": "@ARN@"}, "colour": "red"}, 400, "colour", "unknown field 'colour'"),
    ({"service": "braket", "params": {"jobArn": "@ARN@"}, "tags": "a"}, 400, "tags", "list of non-empty strings"),
    ({"service": "braket", "params": {"jobArn": "@ARN@"}, "name": 5}, 400, "name", "non-empty string"),
    ({"service": "braket", "params": {"jobArn": "@ARN@"}, "interval": "soon"}, 400, "interval", "not a duration"),
    ({"service": "braket", "params": {"jobArn": "@ARN@"}, "interval": -1}, 400, "interval", "negative"),
    ({"service": "braket", "params": {"jobArn": "@ARN@"}, "interval": 0}, 400, "interval", "more than 0"),
    (
        {"service": "braket", "params": {"jobArn": "@ARN@"}, "routes": ["pager"]},
        400,
        "routes",
        "unknown channel 'pager'",
    ),
    ({"service": "braket", "params": {"jobArn": "@ARN@"}, "channels": ["ops", 3]}, 400, "channels", "list"),
]


async def test_invalid_requests_get_a_4xx_naming_the_field_and_add_nothing(
    sim: Any, daemon_settings: Any, api_daemon: Any
) -> None:
    arn = braket_job(sim, "valid-one")
    settings = daemon_settings(channels=[{"name": "ops", "url": "json://127.0.0.1:9/"}])
    async with api_daemon(settings) as d, aiohttp.ClientSession() as http:
        for body, status, field, text in INVALID:
            if isinstance(body, str):
                got, answer = await call(http, "POST", f"{d.url}/jobs", data=body.encode())
            else:
                payload = _replace(body, "@ARN@", arn)
                got, answer = await call(http, "POST", f"{d.url}/jobs", payload)
            assert got == status, (body, answer)
            assert answer["field"] == field, (body, answer)
            assert text in answer["error"], (body, answer)
            assert d.engine.watched() == [] and d.store.jobs() == [], body
        got, answer = await call(http, "POST", f"{d.url}/jobs", data=b"x" * 70_000)
        assert got == 413 and d.store.jobs() == []
        # and a valid request with a known channel goes through
        ok = {"service": "braket", "params": {"jobArn": arn}, "routes": ["ops"]}
        got, answer = await call(http, "POST", f"{d.url}/jobs", ok)
        assert got == 201 and answer["job"]["channels"] == ["ops"]


def _replace(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    return new if value == old else value


async def test_a_token_is_required_when_configured_and_never_echoed(
    sim: Any, daemon_settings: Any, api_daemon: Any
) -> None:
    async with api_daemon(daemon_settings(api={"token": TOKEN})) as d, aiohttp.ClientSession() as http:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": f"Bearer {TOKEN}x"},
        ):
            status, answer = await call(http, "GET", f"{d.url}/jobs", headers=headers)
            assert status == 401, headers
            assert TOKEN not in str(answer)
        status, answer = await call(http, "POST", f"{d.url}/jobs", {"service": "braket"})
        assert status == 401 and d.store.jobs() == []  # refused before the body is even read
        status, answer = await call(http, "GET", f"{d.url}/jobs", headers={"Authorization": f"Bearer {TOKEN}"})
        assert (status, answer) == (200, {"jobs": []})
        status, answer = await call(http, "GET", f"{d.url}/metrics", headers={"Authorization": f"bearer {TOKEN}"})
        assert status == 200
        status, answer = await call(http, "GET", f"{d.url}/healthz")  # liveness needs no token
        assert status == 200 and answer["status"] == "ok"


def test_listening_off_loopback_without_a_token_is_refused(tmp_path: Any) -> None:
    config = tmp_path / "jobwatch.toml"
    config.write_text('[api]\nlisten = "0.0.0.0:8787"\n')
    with pytest.raises(ConfigError, match="requires a token"):
        load_settings(config, env={})
    config.write_text('[api]\nlisten = "0.0.0.0:8787"\ntoken = "${TOKEN}"\n')
    assert load_settings(config, env={"TOKEN": TOKEN}).api.token == TOKEN


async def test_browser_pages_and_rebound_host_names_are_refused(daemon_settings: Any, api_daemon: Any) -> None:
    async with api_daemon(daemon_settings()) as d, aiohttp.ClientSession() as http:
        status, _ = await call(http, "GET", f"{d.url}/jobs", headers={"Host": "evil.example:8787"})
        assert status == 421
        status, _ = await call(
            http, "POST", f"{d.url}/jobs", {"service": "braket"}, headers={"Origin": "https://evil.example"}
        )
        assert status == 403
        port = d.server.port
        status, _ = await call(http, "GET", f"{d.url}/jobs", headers={"Host": f"localhost:{port}"})
        assert status == 200


async def test_metrics_parse_as_prometheus_text(
    sim: Any, daemon_settings: Any, api_daemon: Any, wait_until: Any
) -> None:
    running = braket_job(sim, "still-going")
    finished = braket_job(sim, "soon-done", end_at=0.3)
    async with api_daemon(daemon_settings()) as d, aiohttp.ClientSession() as http:
        for arn in (running, finished):
            status, _ = await call(http, "POST", f"{d.url}/jobs", {"service": "braket", "params": {"jobArn": arn}})
            assert status == 201
        await wait_until(
            lambda: len(d.engine.watched()) == 1 and d.engine.watched()[0].snapshot is not None,
            what="one job to end and the other to be polled",
        )
        async with http.get(f"{d.url}/metrics") as answer:
            assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
            text = await answer.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    jobs = {(s.labels["service"], s.labels["phase"]): s.value for s in families["jobwatch_jobs"].samples}
    assert jobs == {("braket", "running"): 1.0}
    polls = {s.labels["outcome"]: s.value for s in families["jobwatch_polls"].samples if s.name.endswith("_total")}
    assert polls["ok"] >= 2
    latency = [s for s in families["jobwatch_poll_latency_seconds"].samples if s.name.endswith("_count")]
    assert latency and latency[0].labels["service"] == "braket" and latency[0].value >= 2
    events = {s.labels["kind"]: s.value for s in families["jobwatch_events"].samples if s.name.endswith("_total")}
    assert events["watching"] == 2 and events["phase"] >= 1
    assert [s.value for s in families["jobwatch_outbox_depth"].samples] == [0.0]
    assert families["jobwatch_start_time_seconds"].samples[0].value > 0


async def test_readiness_follows_aws_reachability(
    sim: Any, daemon_settings: Any, api_daemon: Any, wait_until: Any
) -> None:
    arn = braket_job(sim, "ready-check")
    settings = daemon_settings(watcher={"error_backoff_cap": 0.3})
    async with api_daemon(settings) as d, aiohttp.ClientSession() as http:
        status, answer = await call(http, "GET", f"{d.url}/readyz")
        assert status == 200 and answer["aws"] == "no jobs to poll yet"
        sim.control.faults(error_rate=1.0)
        await call(http, "POST", f"{d.url}/jobs", {"service": "braket", "params": {"jobArn": arn}})
        await wait_until(lambda: d.engine.watched()[0].failures >= 1, what="a failed poll")
        status, answer = await call(http, "GET", f"{d.url}/readyz")
        assert status == 503 and answer["checks"]["aws"] is False and answer["checks"]["store"] is True
        sim.control.faults()
        await wait_until(lambda: d.engine.watched()[0].failures == 0, what="a good poll")
        status, answer = await call(http, "GET", f"{d.url}/readyz")
        assert status == 200 and answer["checks"] == {"engine": True, "store": True, "aws": True}


def test_a_job_is_polled_in_the_region_its_arn_names_unless_told(daemon_settings: Any) -> None:
    settings = daemon_settings()
    arn = "arn:aws:braket:us-west-1:123456789012:job/far-away"
    info, interval = parse_job_request({"service": "braket", "params": {"jobArn": arn}, "interval": 90}, settings)
    assert (info.ref.region, interval) == ("us-west-1", 90.0)
    info, _ = parse_job_request({"service": "braket", "params": {"jobArn": arn}, "region": "eu-north-1"}, settings)
    assert info.ref.region == "eu-north-1"
    amplify = {"appId": "d2a1b2c3d4e5f6", "branchName": "main", "jobId": "1"}
    info, _ = parse_job_request({"service": "amplify", "params": amplify}, settings)
    assert info.ref.region is None  # no ARN: the configured region
