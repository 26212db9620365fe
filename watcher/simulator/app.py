"""The aiohttp application: AWS calls on every path, the control API under ``/_sim/``.

Every AWS call goes through one edge (:func:`aws_call`) that counts it, injects faults, reads and checks
the input against botocore's model, runs the operation and shapes any error the way the service does.
Nothing a client sends can make it crash: input problems are the service's validation error, and a
bug of ours is logged and answered as the service's 5xx.
"""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web

from watcher.simulator import admin, inputs, models, routing, sts, wire
from watcher.simulator.errors import SimError, error_response, protocol_of, unavailable_response
from watcher.simulator.services import OPERATIONS
from watcher.simulator.services.base import Call
from watcher.simulator.state import SimState
from watcher.simulator.stats import CLIENT_ERRORS, ERRORS, THROTTLES

log = structlog.get_logger(__name__)
STATE: web.AppKey[SimState] = web.AppKey("state", SimState)
MAX_BODY = 1024 * 1024


async def aws_call(request: web.Request) -> web.Response:
    """Answer one AWS API call."""
    state = request.app[STATE]
    key_id = access_key_id(request.headers.get("Authorization"))
    if key_id is not None:
        state.stats.signed(key_id, state.wall())
    if routing.signing_service(request.headers.get("Authorization")) == "sts":
        state.stats.request("sts", "AssumeRole")
        try:
            return sts.assume_role(await _body(request), state.wall())
        except SimError as error:
            return sts.error("ValidationError", error.message)
    found = routing.resolve(request.method, request.rel_url.raw_path, request.headers)
    if found.service is None:
        state.stats.request("unknown", f"{request.method} {request.rel_url.path}"[:80])
        return web.json_response({"message": "No simulated AWS service answers this request"}, status=404)
    service = found.service
    row = state.stats.request(service, found.operation or "UnknownOperation")
    try:
        faults = state.faults
        if faults.active and faults.applies(service):
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            hit = faults.draw(state.fault_rng)
            if hit == "throttle":
                row[THROTTLES] += 1
                return error_response(service, SimError("throttle", "Rate exceeded"))
            if hit == "error":
                row[ERRORS] += 1
                return _server_error(service, state.fault_rng.random())
        if found.operation is None:
            raise SimError(
                "unknown_operation",
                f"{request.method} {request.rel_url.path} is not an operation of {service} that the simulator answers",
            )
        op = models.operation(service, found.operation)
        body = await _body(request)
        if protocol_of(service) == "json":
            params = inputs.parse_json(op, body)
        else:
            params = inputs.parse_rest(op, found.labels, request.rel_url.query, body)
        payload = OPERATIONS[service][found.operation](Call(state, params, state.clock()))
        return wire.ok(protocol_of(service), payload)
    except SimError as error:
        row[ERRORS if error.kind == "server" else CLIENT_ERRORS] += 1
        return error_response(service, error)
    except Exception:
        log.exception("sim.internal_error", service=service, operation=found.operation)
        row[ERRORS] += 1
        return error_response(service, SimError("server", "Internal error"))


def access_key_id(authorization: str | None) -> str | None:
    """The access key id a SigV4 ``Authorization`` header names (``Credential=AKID/date/region/...``)."""
    if not authorization:
        return None
    _, found, rest = authorization.partition("Credential=")
    key_id = rest.split("/", 1)[0].strip() if found else ""
    return key_id[:128] or None


async def _body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise SimError("validation", f"Request body larger than {MAX_BODY} bytes", cannot_parse=True)
    try:
        return await request.read()
    except web.HTTPException:
        raise SimError("validation", "Request body could not be read", cannot_parse=True) from None


def _server_error(service: str, draw: float) -> web.Response:
    """Half the injected 5xx are the service's own JSON error, half a bare 503 (HTML or empty)."""
    if draw < 0.5:
        return error_response(service, SimError("server", "We encountered an internal error. Please try again."))
    return unavailable_response(html=draw < 0.75)


def build_app(state: SimState) -> web.Application:
    """The simulator's aiohttp application over ``state``."""
    app = web.Application(client_max_size=MAX_BODY)
    app[STATE] = state
    admin.add_routes(app, STATE)
    app.router.add_route("*", "/{tail:.*}", aws_call)
    return app
