"""The control API under ``/_sim/``: add, list and remove jobs, set faults, read and reset stats.

Contracts (JSON):
- ``GET /_sim/jobs`` -> ``[{"service", "params", "name", "status"}, ...]``; ``params`` are the keyword
  arguments of the service's get/describe call.
- ``POST /_sim/jobs`` ``{"service", "name", "script": [{"at": seconds, "fields": {...}}], "params": {...}}``
  -> 201 with the job's entry. ``fields`` are deep-merged (RFC 7396: null removes) into the answer the client
  receives from ``at`` seconds on; ``params`` (optional) picks the group a job belongs to (Deadline
  ``farmId``/``queueId``, Amplify ``appId``/``branchName``, Device Farm ``runArn`` or ``arn``).
- ``DELETE /_sim/jobs/{service}/{name}`` -> 204; the job vanishes (later calls: not found).
- ``POST /_sim/faults`` ``{"throttle_rate", "error_rate", "latency_ms", "services"}`` (each optional, the
  whole setting is replaced) -> the settings now; ``GET /_sim/faults`` reads them.
- ``GET /_sim/stats`` -> counts per ``service:Operation``, ``peak_rps`` per service and ``access_keys``: per
  access key id that signed requests, ``{"requests", "first", "last"}`` (epoch seconds).
- ``POST /_sim/reset`` ``{"jobs": false}`` -> clears faults and stats; with ``"jobs": true`` drops jobs too.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from watcher.model import SERVICES
from watcher.simulator.faults import Faults
from watcher.simulator.jobs import Step
from watcher.simulator.state import JobConflict, SimState

_JOBS_PREFIX = "/_sim/jobs/"


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json(request: web.Request) -> Any:
    body = await request.read()
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body is not JSON: {exc}"}), content_type="application/json"
        ) from None


def parse_script(raw: Any) -> list[Step]:
    """Steps from ``[{"at": seconds, "fields": {...}}, ...]``; ValueError says what is wrong."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError('script must be a list of {"at": seconds, "fields": {...}}')
    steps = []
    for number, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ValueError(f"script[{number}] must be an object")
        at = item.get("at", 0)
        if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at) or at < 0:
            raise ValueError(f"script[{number}].at must be a number of seconds >= 0")
        fields = item.get("fields", {})
        if not isinstance(fields, dict):
            raise ValueError(f"script[{number}].fields must be an object")
        steps.append(Step(float(at), fields))
    return steps


def add_routes(app: web.Application, key: web.AppKey[SimState]) -> None:
    """Register the ``/_sim/`` handlers on ``app`` (the state is ``app[key]``)."""

    async def list_jobs(request: web.Request) -> web.Response:
        return web.json_response(request.app[key].entries())

    async def add_job(request: web.Request) -> web.Response:
        data = await _json(request)
        if not isinstance(data, dict):
            return _problem(400, "body must be a JSON object")
        service = data.get("service")
        if service not in SERVICES:
            return _problem(400, f"service must be one of {list(SERVICES)}, got {service!r}")
        name, params = data.get("name"), data.get("params") or {}
        if name is not None and not isinstance(name, str):
            return _problem(400, "name must be a string")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return _problem(400, "params must be an object of strings")
        try:
            script = parse_script(data.get("script"))
            job = request.app[key].add_job(service, name, script, params)
        except JobConflict as exc:
            return _problem(409, str(exc))
        except ValueError as exc:
            return _problem(400, str(exc))
        return web.json_response(request.app[key].entry(job), status=201)

    async def remove_job(request: web.Request) -> web.Response:
        # Parsed from the raw path: a name may hold an encoded "/" that routing would split on.
        rest = request.rel_url.raw_path[len(_JOBS_PREFIX) :]
        service, _, name = rest.partition("/")
        service, name = unquote(service), unquote(name)
        if not request.app[key].remove_job(service, name):
            return _problem(404, f"no {service} job named {name!r}")
        return web.Response(status=204)

    async def get_faults(request: web.Request) -> web.Response:
        return web.json_response(request.app[key].faults.to_json())

    async def set_faults(request: web.Request) -> web.Response:
        data = await _json(request)
        if not isinstance(data, dict):
            return _problem(400, "body must be a JSON object")
        try:
            request.app[key].faults = Faults.from_json(data)
        except ValueError as exc:
            return _problem(400, str(exc))
        return web.json_response(request.app[key].faults.to_json())

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(request.app[key].stats.to_json())

    async def reset(request: web.Request) -> web.Response:
        data = await _json(request)
        state = request.app[key]
        state.faults = Faults()
        state.stats.reset()
        if isinstance(data, dict) and data.get("jobs") is True:
            state.clear_jobs()
        return web.json_response({"jobs": len(state.entries()), "faults": state.faults.to_json()})

    app.router.add_get("/_sim/jobs", list_jobs)
    app.router.add_post("/_sim/jobs", add_job)
    app.router.add_delete("/_sim/jobs/{rest:.+}", remove_job)
    app.router.add_get("/_sim/faults", get_faults)
    app.router.add_post("/_sim/faults", set_faults)
    app.router.add_get("/_sim/stats", stats)
    app.router.add_post("/_sim/reset", reset)
