"""The adapter protocol: what a service module declares so the engine can watch its jobs.

An adapter holds no loop and no I/O policy. It says which botocore client and operation to call,
which parameters name a job, how an answer reads as a :class:`~watcher.model.Snapshot`, and how the
service's list/search call finds jobs (discovery). A sixth service is one new module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from watcher.model import Phase, Snapshot


class AnswerError(ValueError):
    """The service answered with something that cannot be read as a job (logged, never fatal)."""


@dataclass(frozen=True, slots=True)
class Discovery:
    """How a service's list/search call finds jobs to watch.

    ``required`` names the rule keys that must be given; ``optional`` names other keys passed through
    to the call as they are (for example IoT ``status`` or ``thingGroupName``, Braket ``filters``).
    ``items_key`` is the list in the answer; pagination follows ``nextToken``.
    """

    operation: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    items_key: str


class Adapter(Protocol):
    """The shape every ``watcher/services/<name>.py`` module's ``ADAPTER`` object has."""

    service: str  # jobwatch's name for the service, the same as botocore's client name
    operation: str  # the read call: "get_job" or "describe_job"
    identity: tuple[str, ...]  # parameter names that name a job, in key order
    default_region: str | None  # a region the service lives in only (Device Farm: us-west-2)
    statuses: Mapping[str, Phase]  # every primary status value in botocore's model -> phase
    discovery: Discovery | None

    def request(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Keyword arguments for the read call (identity plus fixed extras such as Braket's QueueInfo)."""
        ...

    def check_params(self, params: Mapping[str, Any]) -> list[str]:
        """Problems with a job's identity parameters, each naming the field; empty when fine."""
        ...

    def read(self, answer: Mapping[str, Any]) -> Snapshot:
        """Read one answer of the read call. Pure. Unknown status values give Phase.UNKNOWN;
        an answer with no job at all raises AnswerError."""
        ...

    def discovery_request(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the discovery call from a rule's parameters."""
        ...

    def discovered(self, rule: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
        """From one item of the discovery answer: the job's identity parameters and its name if known."""
        ...

    def console_url(self, params: Mapping[str, str], region: str) -> str | None:
        """The AWS console page of the job, where one can be built."""
        ...
