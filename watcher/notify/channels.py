"""Channels: apprise objects built from ``[[channels]]``, checked without sending, sent to, secrets masked.

A channel is one apprise object (one URL, or every URL of an apprise config file). Apprise is never
handed a URL in a log or error message of ours: messages name the channel and the URL's scheme only, and
every secret part of every channel URL (password, tokens in host/path/query) is masked in apprise's own
log records as well.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import anyio
import apprise
from apprise.common import NotifyFormat, NotifyType
from apprise.manager_plugins import NotificationManager

from watcher.notify.render import Message, Style
from watcher.notify.settings import ChannelConfig, NotifySettings

APPRISE_LOGGER = "apprise"
# schemes whose receivers render Markdown although apprise declares them text-only (Mattermost) or
# whose plugin lists text first; e-mail is HTML; Slack gets jobwatch's own mrkdwn, sent as it is
_SCHEME_FORMATS = {
    "slack": "slack",
    "mmost": "markdown",
    "mmosts": "markdown",
    "rocket": "markdown",
    "rockets": "markdown",
    "discord": "markdown",
    "mailto": "html",
    "mailtos": "html",
}
_BODY_FORMATS: dict[str, NotifyFormat | None] = {
    "text": NotifyFormat.TEXT,
    "markdown": NotifyFormat.MARKDOWN,
    "html": NotifyFormat.HTML,
    "slack": None,  # None: apprise passes the body through untouched (no conversion, no dialect rewrite)
}
_MIN_SECRET = 4


class _Masker(logging.Filter):
    """A logging filter that masks every known secret in apprise's records (shared by all notifiers)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.lock = threading.Lock()  # apprise logs from its worker threads

    def add(self, secrets: Iterable[str]) -> None:
        with self.lock:
            self.secrets.update(secrets)

    def mask(self, text: str) -> str:
        with self.lock:
            secrets = sorted(self.secrets, key=len, reverse=True)
        return mask(text, secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = self.mask(record.getMessage())
            record.args = ()
        return True


MASKER = _Masker()
logging.getLogger(APPRISE_LOGGER).addFilter(MASKER)


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (and its URL-quoted form) replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, "***")
    return text


def url_secrets(url: str) -> set[str]:
    """The parts of an apprise URL that may be secret: user, password, token-like host, path parts, query values."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        user, password, host = parts.username, parts.password, parts.hostname
    except ValueError:
        return {url} if len(url) >= _MIN_SECRET else set()
    for value in (user, password):
        if value:
            found.add(value)
    if host and "." not in host and host != "localhost" and ":" not in host:
        found.add(host)  # slack://TokenA/..., tgram://bottoken/...: the "host" is a token
    found.update(seg for seg in parts.path.split("/") if len(seg) >= _MIN_SECRET)
    found.update(value for _, value in parse_qsl(parts.query) if len(value) >= _MIN_SECRET)
    found |= {unquote(s) for s in found}
    return {s for s in found if len(s) >= _MIN_SECRET}


def scheme_of(url: str) -> str | None:
    """The URL's scheme in lower case, or None when it has none."""
    head, sep, _ = url.partition("://")
    return head.strip().lower() if sep and head.strip() else None


@contextlib.contextmanager
def quiet_apprise() -> Iterator[None]:
    """Silence apprise's logger: while parsing URLs it logs them verbatim, secrets included."""
    logger = logging.getLogger(APPRISE_LOGGER)
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


@dataclass(slots=True)
class Channel:
    """A usable channel: its apprise object, how its messages are written, and what to mask."""

    name: str
    scheme: str
    apprise: apprise.Apprise
    style: Style
    body_format: NotifyFormat | None
    secrets: set[str] = field(default_factory=set)

    def mask(self, text: str) -> str:
        return mask(text, self.secrets)

    async def send(self, message: Message, within: float) -> str | None:
        """Send one message; None when apprise reports success, else why not (secrets masked)."""
        try:
            with anyio.fail_after(within + 5):  # apprise's own timeout first; this one if it hangs anyway
                result = await self.apprise.async_notify(
                    body=message.body,
                    title=message.title,
                    notify_type=NotifyType(message.notify_type),
                    body_format=self.body_format,
                    timeout=within,
                )
        except TimeoutError:
            return f"no answer within {within + 5:.0f}s"
        except Exception as exc:  # a plugin crash is a failed send to retry, never the end of the dispatcher
            return self.mask(f"apprise raised {type(exc).__name__}: {exc}")[:500]
        if result:
            return None
        return self.mask(_describe(result))[:500]


def _describe(result: Any) -> str:
    """A short reason from an apprise result: status per service plus its last warning."""
    parts: list[str] = []
    for service in getattr(result, "results", ()) or ():
        status = getattr(getattr(service, "status", None), "name", "FAILURE").lower()
        if status == "success":
            continue
        last = ""
        with contextlib.suppress(Exception):  # log access is best effort: the status alone is enough
            messages = [entry.message for entry in service.logs() if entry.level in ("WARNING", "ERROR")]
            last = f": {messages[-1]}" if messages else ""
        parts.append(f"{service.name} {status}{last}")
    status = getattr(getattr(result, "status", None), "name", "FAILURE").lower()
    return "; ".join(parts) or f"apprise reported {status}"


def _format_of(plugins: list[Any], scheme: str) -> str:
    if scheme in _SCHEME_FORMATS:
        return _SCHEME_FORMATS[scheme]
    found = set()
    for plugin in plugins:
        declared = plugin.notify_format
        first = declared[0] if isinstance(declared, tuple) else declared
        found.add(str(getattr(first, "value", first)))
    # one format for all, else text: apprise converts text safely to any format (it escapes it)
    return found.pop() if len(found) == 1 else "text"


def build_channel(cfg: ChannelConfig, settings: NotifySettings, where: str) -> tuple[Channel | None, list[str]]:
    """The apprise object of one ``[[channels]]`` entry, or the problems that keep it from working."""
    plugins: list[Any] = []
    secrets: set[str] = set()
    asset = apprise.AppriseAsset(app_id="jobwatch", app_desc="jobwatch")
    ap = apprise.Apprise(asset=asset)
    if cfg.url is not None:
        secrets |= url_secrets(cfg.url)
        scheme = scheme_of(cfg.url)
        if scheme is None:
            return None, [f"{where}.url: this is not an apprise URL (expected scheme://...)"]
        if scheme not in NotificationManager():  # type: ignore[no-untyped-call]
            return None, [f"{where}.url: apprise does not recognise this URL (scheme {scheme!r})"]
        with quiet_apprise():
            plugin = apprise.Apprise.instantiate(cfg.url, asset=asset)
        if plugin is None:
            return None, [f"{where}.url: apprise cannot use this {scheme!r} URL; check its host, tokens and parameters"]
        plugins.append(plugin)
        ap.add(plugin)
    else:
        assert cfg.config is not None
        path = Path(cfg.config)
        scheme = "config"
        if not path.is_file():
            return None, [f"{where}.config: no such file: {path}"]
        conf = apprise.AppriseConfig(asset=asset)
        with quiet_apprise():
            conf.add(str(path))
            plugins = list(conf.services())
        if not plugins:
            return None, [f"{where}.config: apprise found no usable URL in {path}"]
        for plugin in plugins:
            with quiet_apprise():
                secrets |= url_secrets(plugin.url(privacy=False))
        ap.add(conf)
    fmt = cfg.format or _format_of(plugins, scheme)
    title_format = fmt
    if fmt == "html" and all(getattr(p, "title_maxlen", 0) > 0 for p in plugins):
        title_format = "text"  # a separate title (an e-mail subject) is plain text; escaping would show
    limits = [p.body_maxlen for p in plugins if getattr(p, "body_maxlen", 0) > 0]
    max_length = min([cfg.max_length or settings.max_length, *limits])
    style = Style(format=fmt, title_format=title_format, max_length=max_length, title=cfg.title, body=cfg.body)
    MASKER.add(secrets)
    channel = Channel(cfg.name, scheme, ap, style, _BODY_FORMATS[fmt], secrets)
    return channel, []
