"""Discovery rules (``[[discover]]``): list a service's jobs every so often and watch the new ones.

One task per rule. Each round calls the service's list/search operation through :meth:`Engine.call`,
so discovery shares the service's token bucket and the global limit on requests in flight with the
polls, follows ``nextToken`` to the last page, keeps the jobs whose name matches the rule's glob and
adds those the engine has never seen. A job the user removed, or one that ended, stays as it is.

The rule's ``interval`` is how often it lists (default 60 s); the jobs it finds are polled at their
service's usual interval. A round that fails is logged and retried with backoff.
"""

from __future__ import annotations

import random
from fnmatch import fnmatchcase
from typing import Any

import anyio
import structlog

from watcher.clients import classify
from watcher.config import DiscoverConfig, Settings
from watcher.engine import Engine
from watcher.model import JobInfo, JobRef
from watcher.services import adapter_for
from watcher.services.base import AnswerError

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL = 60.0
MAX_PAGES = 1000  # per round: a service that keeps answering a nextToken must not hold the rule forever
MAX_BACKOFF = 8  # a failing rule waits at most this many intervals between rounds


class Rule:
    """One discovery rule at work: what it lists, through which client, and which jobs it has met."""

    def __init__(self, engine: Engine, config: DiscoverConfig, index: int) -> None:
        self.engine = engine
        self.config = config
        self.index = index
        self.adapter = adapter_for(config.service)
        discovery = self.adapter.discovery
        assert discovery is not None, "DiscoverConfig validated that the service has a discovery call"
        self.discovery = discovery
        # the same client the jobs of this rule are polled with
        self.client = engine.client_key(JobRef(config.service, {}, config.region, config.profile, config.endpoint_url))
        self.interval = config.interval or DEFAULT_INTERVAL
        self.seen: set[str] = set()
        self.failures = 0
        self.rounds = 0

    @property
    def label(self) -> str:
        return self.config.name or f"discover[{self.index}]"

    async def run(self) -> None:
        """Run rounds until cancelled."""
        rng = random.Random()
        # spread the first rounds of many rules a little, so they do not all list at the same instant
        await anyio.sleep(rng.uniform(0, min(1.0, self.interval / 10)))
        while True:
            try:
                added = await self.round()
            except Exception as exc:  # any failure: log, back off, try again next round
                self.failures += 1
                kind, code, message = classify(exc)
                delay = self.interval * min(2 ** (self.failures - 1), MAX_BACKOFF) * rng.uniform(0.8, 1.2)
                log.warning(
                    "discovery.failed",
                    rule=self.label,
                    service=self.config.service,
                    kind=kind.value,
                    code=code,
                    error=message,
                    retry_in=round(delay, 2),
                )
            else:
                self.failures = 0
                delay = self.interval * rng.uniform(0.9, 1.1)
                if added:
                    log.info("discovery.found", rule=self.label, service=self.config.service, added=added)
            await anyio.sleep(delay)

    async def round(self) -> int:
        """List every page once; watch the new jobs. Returns how many were added."""
        kwargs = self.adapter.discovery_request(self.config.params)
        added = 0
        token: str | None = None
        tokens: set[str] = set()
        for _ in range(MAX_PAGES):
            call = dict(kwargs, nextToken=token) if token else kwargs
            answer: dict[str, Any] = await self.engine.call(self.client, self.discovery.operation, call)
            for item in answer.get(self.discovery.items_key) or ():
                added += self._consider(item)
            token = answer.get("nextToken") or None
            if token is None or token in tokens:
                break
            tokens.add(token)
        self.rounds += 1
        return added

    def _consider(self, item: Any) -> int:
        """Watch one listed job if it is new and matches; 1 when it was added."""
        try:
            params, name = self.adapter.discovered(self.config.params, item)
        except AnswerError as exc:
            log.warning("discovery.bad_item", rule=self.label, service=self.config.service, error=str(exc))
            return 0
        config = self.config
        ref = JobRef(config.service, params, config.region, config.profile, config.endpoint_url)
        key = ref.key
        if key in self.seen:
            return 0
        # a job without a name (Amplify, IoT) is matched by its own id, the last part of its identity
        label = name if name is not None else str(params[self.adapter.identity[-1]])
        if config.match is not None and not fnmatchcase(label, config.match):
            self.seen.add(key)
            return 0
        if self.engine.get(key) is not None:
            self.seen.add(key)
            return 0  # watched already, ended, or removed by the user: discovery does not bring it back
        info = JobInfo(ref=ref, name=name, tags=tuple(config.tags), channels=tuple(config.channels))
        self.engine.add(info, source="discovery", announce_finished=config.announce_terminal)
        self.seen.add(key)  # only now: a failed add (state unwritable) is tried again next round
        self.engine.metrics.discovered.labels(config.service).inc()
        log.info("discovery.added", rule=self.label, service=config.service, job=key, name=name)
        return 1


def discovery_tasks(settings: Settings, engine: Engine) -> list[Rule]:
    """One :class:`Rule` per ``[[discover]]`` entry; start each one's ``run`` in the engine's task group."""
    return [Rule(engine, config, index) for index, config in enumerate(settings.discover)]
