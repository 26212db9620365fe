"""systemd's notify protocol without a dependency: one datagram per message to ``$NOTIFY_SOCKET``.

``READY=1`` once the engine runs and the API serves (``Type=notify``), ``WATCHDOG=1`` at half of
``$WATCHDOG_USEC`` from a task of the event loop (so a blocked loop misses its beats and systemd restarts
the daemon), ``STOPPING=1`` when it shuts down. Without ``$NOTIFY_SOCKET`` all of it is a no-op.
"""

from __future__ import annotations

import os
import socket

import anyio
import structlog

log = structlog.get_logger(__name__)


def _address(raw: str) -> str | bytes:
    """A socket path, or an abstract socket name (``@name`` -> ``\\0name``)."""
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()
    return raw


def notify(message: str, env: dict[str, str] | None = None) -> bool:
    """Send one notify message (``READY=1`` ...). False when there is no socket or it could not be sent."""
    where = (os.environ if env is None else env).get("NOTIFY_SOCKET")
    if not where:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(_address(where))
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("sdnotify.failed", message=message.split("\n", 1)[0], error=str(exc))
        return False
    return True


def watchdog_interval(env: dict[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG=1 beats (half of ``$WATCHDOG_USEC``), None when systemd asks for none."""
    env = dict(os.environ) if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0:
        return None
    if pid.isdigit() and int(pid) != os.getpid():
        return None  # meant for another process (e.g. a wrapper that exec'd us is not us)
    return int(usec) / 2_000_000


async def run(*ready: anyio.Event) -> None:
    """Once every ``ready`` event is set, send READY=1; then beat the watchdog; STOPPING=1 when cancelled."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return
    try:
        for event in ready:
            await event.wait()
        notify(f"READY=1\nSTATUS=watching jobs\nMAINPID={os.getpid()}")
        log.info("sdnotify.ready")
        interval = watchdog_interval()
        while interval is None:
            await anyio.sleep_forever()
        while True:
            notify("WATCHDOG=1")
            await anyio.sleep(interval)
    finally:
        notify("STOPPING=1")
