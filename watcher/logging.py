"""structlog set-up: JSON lines when not on a terminal, a readable console when on one.

Library records (botocore, aiohttp, apprise) go through the same processors so every line has one
format. Tracebacks are rendered without local variables: locals hold credentials and webhook URLs.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# apprise URLs and bearer tokens that might end up in an exception text: keep the scheme, hide the rest.
_SECRET_URL = re.compile(r"\b([a-z][a-z0-9+.-]{1,20})://[^\s'\"]+", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")


def scrub(text: str) -> str:
    """Hide URL credentials/paths and bearer tokens in free text (error messages from libraries)."""
    text = _SECRET_URL.sub(lambda m: f"{m.group(1)}://***", text)
    return _BEARER.sub(r"\1***", text)


def _scrub_event(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Processor: scrub secrets from every string value (error texts quote URLs)."""
    for key, value in event_dict.items():
        if isinstance(value, str) and ("://" in value or "Bearer" in value):
            event_dict[key] = scrub(value)
    return event_dict


def configure(level: str = "info", fmt: str = "auto", stream: Any = None) -> None:
    """Configure structlog and the stdlib root logger once for the process."""
    stream = stream or sys.stderr
    use_console = fmt == "console" or (fmt == "auto" and hasattr(stream, "isatty") and stream.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _scrub_event,
    ]
    renderer: Any
    if use_console:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
    else:
        renderer = structlog.processors.JSONRenderer()
    exception_processors: list[Any] = (
        []
        if use_console
        else [structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False))]
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *exception_processors, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Chatty libraries: their INFO lines are noise next to ours.
    for name in ("botocore", "aiobotocore", "aiohttp.access", "apprise", "asyncio"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
