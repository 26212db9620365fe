"""Which service and operation a request is for.

json-protocol calls name themselves in ``X-Amz-Target``. rest-json calls are matched on method and path
(from botocore's ``requestUri``s), within the service named by the SigV4 credential scope of the
``Authorization`` header when there is one (``Credential=AKID/date/region/SERVICE/aws4_request``), so
a path one service does not have is that service's unknown operation, not another service's call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from watcher.simulator.models import SIMULATED, operation, service_model, target_prefix

_SCOPE = re.compile(r"Credential=[^/,\s]*/\d{8}/[^/,\s]*/([^/,\s]+)/aws4_request")


@dataclass(frozen=True, slots=True)
class Route:
    service: str
    operation: str
    method: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Resolved:
    """``service`` None: nothing we simulate; ``operation`` None: that service, an operation we lack."""

    service: str | None
    operation: str | None
    labels: dict[str, str]


def _pattern(request_uri: str) -> re.Pattern[str]:
    path = request_uri.split("?", 1)[0]
    parts = re.split(r"(\{[^}]+\})", path)
    regex = "".join(
        f"(?P<{p[1:-1].rstrip('+')}>.+)"
        if p.endswith("+}")
        else f"(?P<{p[1:-1]}>[^/]+)"
        if p.startswith("{")
        else re.escape(p)
        for p in parts
    )
    return re.compile(regex)


@cache
def routes() -> tuple[Route, ...]:
    """The rest-json routes of every simulated operation, from botocore's models."""
    found = []
    for service, names in SIMULATED.items():
        if service_model(service).protocol != "rest-json":
            continue
        for name in names:
            http = operation(service, name).http
            found.append(Route(service, name, http["method"], _pattern(http["requestUri"])))
    return tuple(found)


@cache
def _targets() -> dict[str, str]:
    return {prefix: service for service in SIMULATED if (prefix := target_prefix(service))}


def signing_service(authorization: str | None) -> str | None:
    """The service name in a SigV4 credential scope, or None."""
    if not authorization:
        return None
    match = _SCOPE.search(authorization)
    return match.group(1) if match else None


def resolve(method: str, raw_path: str, headers: Mapping[str, str]) -> Resolved:
    """Find the service and operation of a request; ``raw_path`` still percent-encoded."""
    target = headers.get("X-Amz-Target")
    if target:
        prefix, _, name = target.partition(".")
        service = _targets().get(prefix)
        if service is None:
            return Resolved(None, None, {})
        return Resolved(service, name if name in SIMULATED[service] else None, {})
    scope = signing_service(headers.get("Authorization"))
    scoped = scope if scope in SIMULATED else None
    for route in routes():
        if scoped is not None and route.service != scoped:
            continue
        if route.method != method:
            continue
        match = route.pattern.fullmatch(raw_path)
        if match:
            return Resolved(route.service, route.operation, match.groupdict())
    return Resolved(scoped, None, {})
