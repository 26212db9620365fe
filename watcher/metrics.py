"""Prometheus metrics of one engine, in a registry of its own (so tests can run several engines)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector


class Metrics:
    """Counters and histograms the engine, the notifier and the API update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter(
            "jobwatch_polls",
            "Polls by service and outcome (ok, throttled, not_found, denied, invalid, transient).",
            ["service", "outcome"],
            registry=r,
        )
        self.throttles = Counter("jobwatch_throttles", "Throttle answers by service.", ["service"], registry=r)
        self.errors = Counter(
            "jobwatch_poll_errors", "Failed polls by service and error code.", ["service", "code"], registry=r
        )
        self.poll_latency = Histogram(
            "jobwatch_poll_latency_seconds",
            "Time of one AWS read call.",
            ["service"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
        )
        self.events = Counter("jobwatch_events", "Events found, by service and kind.", ["service", "kind"], registry=r)
        self.notifications = Counter(
            "jobwatch_notifications",
            "Notification attempts by channel and outcome.",
            ["channel", "outcome"],
            registry=r,
        )
        self.discovered = Counter("jobwatch_discovered_jobs", "Jobs added by discovery rules.", ["service"], registry=r)
        self.jobs = Gauge("jobwatch_jobs", "Jobs watched, by service and phase.", ["service", "phase"], registry=r)
        self.outbox = Gauge("jobwatch_outbox_depth", "Notifications waiting in the outbox.", registry=r)
        self.up = Gauge("jobwatch_start_time_seconds", "When this daemon started (epoch seconds).", registry=r)

    def bind_notifications(self, source: Callable[[], Mapping[tuple[str, str], int]]) -> None:
        """Expose the notifier's own tally, (channel, outcome) -> rows, as ``jobwatch_notifications_total``."""
        self.registry.register(_Tally(source))

    def render(self, refresh: Callable[[Metrics], None] | None = None) -> bytes:
        """The Prometheus text exposition, after ``refresh`` updated the gauges read from state."""
        if refresh is not None:
            refresh(self)
        return generate_latest(self.registry)


class _Tally(Collector):
    """A counter family read from a tally kept elsewhere (the notifier's), so there is one source of truth."""

    def __init__(self, source: Callable[[], Mapping[tuple[str, str], int]]) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "jobwatch_notifications",
            "Notification rows by channel and outcome (sent, failed attempts, expired).",
            labels=["channel", "outcome"],
        )
        for (channel, outcome), count in sorted(self.source().items()):
            family.add_metric([channel, outcome], count)
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())
