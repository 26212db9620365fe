"""Real local receivers for notification tests: an aiohttp HTTP receiver and an aiosmtpd SMTP server (127.0.0.1 only).

The fixtures are registered for every test folder by tests/conftest.py (and tests/notify/conftest.py).

``http_receiver`` (async fixture): ``.url(scheme="json", path="/hook")`` gives an apprise URL pointing at it
(``json://``, ``form://``, ``http://``; ``mmost`` gives a Mattermost URL whose ``/hooks/<token>`` posts a
Slack-compatible ``{"text": ...}`` payload), ``.requests`` (each a dict: method, path, headers, body, json,
form, status), ``.set_status(code, path=None)`` to simulate outages, ``.set_delay(seconds, path=None)`` to hold
answers,
``await .wait_for(n, within=5, ok_only=False)``.
``smtp_server``: ``.port``, ``.url(to=...)`` (a plain-SMTP ``mailto://`` URL), ``.messages`` (parsed
``email.message.EmailMessage``), ``await .wait_for(n, within=5)``.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qsl

import anyio
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller


@dataclass
class HttpReceiver:
    """An aiohttp app on 127.0.0.1 that records every request and answers with a settable status."""

    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    statuses: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    delays: dict[str, float] = field(default_factory=dict)
    arrived: anyio.Event | None = None

    def url(self, scheme: str = "json", path: str = "/hook") -> str:
        """An apprise URL (``json``, ``form``, ``mmost``) or the plain ``http`` URL of ``path`` on this receiver."""
        if scheme == "mmost":
            return f"mmost://127.0.0.1:{self.port}/{path.strip('/') or 'token'}"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def set_status(self, code: int, path: str | None = None) -> None:
        """Answer ``code`` from now on (on ``path`` only, when given): 5xx simulates an outage."""
        if path is None:
            self.status = code
            self.statuses.clear()
        else:
            self.statuses[path] = code

    def set_delay(self, seconds: float, path: str | None = None) -> None:
        """Hold each answer (on ``path`` only, when given) this long; the request is recorded on arrival."""
        if path is None:
            self.delay = seconds
            self.delays.clear()
        else:
            self.delays[path] = seconds

    def delivered(self, path: str | None = None) -> list[dict[str, Any]]:
        """Requests that were answered with a 2xx status (on ``path`` when given)."""
        return [r for r in self.requests if 200 <= r["status"] < 300 and (path is None or r["path"] == path)]

    async def wait_for(self, n: int, within: float = 5.0, *, ok_only: bool = False, path: str | None = None) -> None:
        """Wait until ``n`` requests (answered 2xx with ``ok_only``) arrived, else fail the test."""

        def count() -> int:
            chosen = self.delivered(path) if ok_only else [r for r in self.requests if path in (None, r["path"])]
            return len(chosen)

        try:
            with anyio.fail_after(within):
                while count() < n:
                    await anyio.sleep(0.01)
        except TimeoutError:
            pytest.fail(f"HTTP receiver: {count()} of {n} expected requests within {within}s")

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        record: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "headers": dict(request.headers),
            "body": body,
            "json": None,
            "form": None,
        }
        kind = request.headers.get("Content-Type", "")
        if "json" in kind:
            with contextlib.suppress(ValueError):
                record["json"] = json.loads(body)
        elif "form" in kind:
            record["form"] = dict(parse_qsl(body))
        status = self.statuses.get(request.path, self.status)
        record["status"] = status
        self.requests.append(record)
        delay = self.delays.get(request.path, self.delay)
        if delay:
            await anyio.sleep(delay)
        return web.Response(status=status, text="ok" if status < 400 else "unavailable")


@pytest.fixture
async def http_receiver(anyio_backend: str) -> AsyncIterator[HttpReceiver]:
    """A recording HTTP receiver on a free loopback port, running in the test's event loop."""
    receiver = HttpReceiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    receiver.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield receiver
    finally:
        await runner.cleanup()


@dataclass
class SmtpServer:
    """An aiosmtpd server in its own thread; every message it accepts lands in ``messages``."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, to: str = "b@example.com", sender: str = "a@example.com") -> str:
        """A plain-SMTP (no TLS, no login) apprise ``mailto://`` URL for this server."""
        return f"mailto://127.0.0.1:{self.port}?from={sender}&to={to}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    async def wait_for(self, n: int, within: float = 5.0) -> None:
        """Wait until ``n`` messages arrived, else fail the test."""
        try:
            with anyio.fail_after(within):
                while len(self.messages) < n:
                    await anyio.sleep(0.01)
        except TimeoutError:
            pytest.fail(f"SMTP server: {len(self.messages)} of {n} expected messages within {within}s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server on a free loopback port (no TLS, no authentication)."""
    server = SmtpServer(port=_free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
