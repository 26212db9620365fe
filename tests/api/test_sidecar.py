"""The sidecar flow: a main container POSTs its Braket job with curl, and a webhook hears how it ended."""

from __future__ import annotations

import json
import shutil
from typing import Any
from urllib.parse import quote

import aiohttp
import anyio
import pytest

from watcher.notify import Notifier

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("aws_env")]


async def test_a_job_posted_with_curl_is_watched_to_its_end_and_notified(
    sim: Any, daemon_settings: Any, api_daemon: Any, http_receiver: Any, wait_until: Any
) -> None:
    arn = sim.control.add_job(
        "braket",
        "sidecar-vqe",
        [
            {"at": 0, "fields": {"status": "RUNNING"}},
            {"at": 0.6, "fields": {"status": "FAILED", "failureReason": "AlgorithmError: <out of memory>"}},
        ],
    )["params"]["jobArn"]
    settings = daemon_settings(channels=[{"name": "hook", "url": http_receiver.url("json")}])
    notifier = Notifier.from_settings(settings)
    async with api_daemon(settings, notifier) as d:
        body = json.dumps({"service": "braket", "params": {"jobArn": arn}, "routes": ["hook"]})
        url = f"http://localhost:{d.server.port}/jobs"
        if shutil.which("curl"):  # exactly what a sidecar's shell does (curl -d sends a form content type)
            done = await anyio.run_process(["curl", "-sS", "-w", "\n%{http_code}", "-X", "POST", url, "-d", body])
            text, _, code = done.stdout.decode().rpartition("\n")
            status, answer = int(code), json.loads(text)
        else:
            async with aiohttp.ClientSession() as http, http.post(url, data=body) as reply:
                status, answer = reply.status, await reply.json()
        assert status == 201 and answer["key"] == f"braket:{arn}", answer
        await wait_until(lambda: not d.engine.watched(), what="the job to end")
        await http_receiver.wait_for(1, within=10, ok_only=True)
        await wait_until(lambda: d.store.outbox_depth() == 0, what="the outbox to empty")
        key = quote(answer["key"], safe="")
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{d.url}/jobs/{key}/ack", json={"comment": "seen by on-call"}) as reply:
                assert reply.status == 200, await reply.text()
            async with http.post(f"{d.url}/jobs/{quote('braket:unknown', safe='')}/ack") as reply:
                assert reply.status == 404
    notices = [r["json"] for r in http_receiver.delivered()]
    failed = [n for n in notices if "failed" in (n["title"] + n["message"]).lower()]
    assert failed, notices
    assert "sidecar-vqe" in failed[-1]["title"] + failed[-1]["message"]
    assert "out of memory" in failed[-1]["message"]
    assert failed[-1]["type"] == "failure"
