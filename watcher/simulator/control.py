"""A small synchronous client of the simulator's control API (``/_sim/``), for tests and benchmarks."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote


class SimControlError(RuntimeError):
    """The control API refused a request (its message says why)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"simulator control API answered {status}: {message}")
        self.status = status


class SimControl:
    """Talks to one simulator's ``/_sim/`` endpoints with urllib (no event loop needed)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):  # not our JSON: keep the text
                text = json.loads(text).get("error", text)
            raise SimControlError(exc.code, text) from None
        return json.loads(body) if body else None

    def add_job(
        self,
        service: str,
        name: str | None = None,
        script: Iterable[Mapping[str, Any]] = (),
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Add a job; ``script`` is ``[{"at": seconds, "fields": {...}}, ...]``. Returns its entry."""
        payload: dict[str, Any] = {"service": service, "script": list(script)}
        if name is not None:
            payload["name"] = name
        if params:
            payload["params"] = dict(params)
        result: dict[str, Any] = self._call("POST", "/_sim/jobs", payload)
        return result

    def jobs(self) -> list[dict[str, Any]]:
        """Every job: ``{"service", "params", "name", "status"}``."""
        result: list[dict[str, Any]] = self._call("GET", "/_sim/jobs")
        return result

    def vanish(self, service: str, name: str) -> None:
        """Remove a job: later calls for it get the service's not-found error."""
        self._call("DELETE", f"/_sim/jobs/{quote(service, safe='')}/{quote(name, safe='')}")

    def faults(self, **settings: Any) -> dict[str, Any]:
        """Replace the fault settings (throttle_rate, error_rate, latency_ms, services); none: all off."""
        result: dict[str, Any] = self._call("POST", "/_sim/faults", settings)
        return result

    def stats(self) -> dict[str, Any]:
        """Counts per ``service:Operation``, ``peak_rps`` per service, ``access_keys`` (who signed, when)."""
        result: dict[str, Any] = self._call("GET", "/_sim/stats")
        return result

    def reset(self, jobs: bool = False) -> None:
        """Clear faults and stats; with ``jobs=True`` drop every job too."""
        self._call("POST", "/_sim/reset", {"jobs": jobs})
