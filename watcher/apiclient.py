"""The CLI's side of the local API: find the running daemon and call it (standard library only, synchronous).

Requests go straight to the daemon: proxy variables (``http_proxy``) are ignored, since the daemon is local
or named explicitly in ``api.listen``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from watcher.config import Settings
from watcher.errors import JobwatchError

PROBE_TIMEOUT = 0.5  # seconds the daemon has to answer /healthz before the CLI falls back to the state file
REQUEST_TIMEOUT = 10.0

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_url(host: str, port: int) -> str:
    """``http://host:port`` to reach a listener on ``host`` (one on every address is reached over loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def base_url(settings: Settings) -> str:
    """The API's base URL as configured in ``api.listen``."""
    return http_url(settings.api.host, settings.api.port)


def daemon_url(settings: Settings) -> str | None:
    """The API's base URL when a jobwatch daemon answers ``/healthz`` within half a second, else None."""
    if not settings.api.enabled:
        return None
    base = base_url(settings)
    try:
        with _opener.open(urllib.request.Request(f"{base}/healthz"), timeout=PROBE_TIMEOUT) as answer:
            body = json.loads(answer.read() or b"{}")
    except (OSError, ValueError):  # refused, timed out, not HTTP, not JSON: no daemon of ours there
        return None
    return base if isinstance(body, dict) and body.get("app") == "jobwatch" else None


def request(settings: Settings, method: str, url: str, body: Any = None) -> dict[str, Any]:
    """Call the API with the configured token; JobwatchError carries the API's own error message."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if settings.api.token:
        headers["Authorization"] = f"Bearer {settings.api.token}"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with _opener.open(req, timeout=REQUEST_TIMEOUT) as answer:
            payload = answer.read()
    except urllib.error.HTTPError as exc:
        raise JobwatchError(f"the daemon refused: {_message(exc)}") from None
    except (OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise JobwatchError(f"cannot reach the daemon's API at {base_url(settings)}: {reason}") from None
    try:
        result = json.loads(payload or b"{}")
    except ValueError:
        raise JobwatchError("the daemon's API answered something that is not JSON") from None
    if not isinstance(result, dict):
        raise JobwatchError("the daemon's API answered an unexpected shape (not a JSON object)")
    return result


def _message(exc: urllib.error.HTTPError) -> str:
    """The API's ``error`` (and ``field``) from an error answer, else the HTTP status."""
    try:
        body = json.loads(exc.read() or b"{}")
    except (OSError, ValueError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        field = body.get("field")
        return f"{field}: {body['error']}" if field and field not in body["error"] else body["error"]
    return f"HTTP {exc.code} {exc.reason}"
