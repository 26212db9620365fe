"""What a simulated service module declares: identities, answers, lifecycles and operation handlers."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from watcher.simulator.errors import SimError
from watcher.simulator.jobs import SimJob, Step

if TYPE_CHECKING:
    from watcher.simulator.state import SimState

ACCOUNT = "123456789012"


@dataclass(slots=True)
class Call:
    """One AWS call being answered: the simulator state, the checked input, monotonic now."""

    state: SimState
    params: dict[str, Any]
    now: float

    def jobs(self, service: str) -> list[SimJob]:
        return self.state.listing(service)


Handler = Callable[[Call], Any]


class Allocator(Protocol):
    """Hands out per-group serial numbers (Amplify job ids per branch, Device Farm job index per run)."""

    def next_number(self, group: str) -> int: ...


class ServiceSim(Protocol):
    """The shape of each ``watcher/simulator/services/<name>.py`` module's ``SIM`` object."""

    service: str
    identity: tuple[str, ...]  # get/describe parameter names, in order: the lookup key
    overridable: tuple[str, ...]  # params a POST /_sim/jobs may choose (farm, queue, app, branch...)

    def check_name(self, name: str) -> str | None:
        """What is wrong with ``name`` as this service's job handle, or None."""
        ...

    def make_params(self, name: str, overrides: Mapping[str, str], alloc: Allocator) -> dict[str, str]:
        """The job's get/describe parameters; ValueError when an override is malformed."""
        ...

    def base(self, name: str, params: Mapping[str, str], created: float) -> dict[str, Any]:
        """The answer of a just-created, queued job (``created`` in epoch seconds)."""
        ...

    def status(self, answer: Mapping[str, Any]) -> str | None:
        """The primary status in an answer."""
        ...

    def random_identity(self, rng: random.Random, index: int, memo: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """A realistic name and identity overrides for the ``index``-th seeded job of this service.

        ``memo`` is the service's scratch space for one seeding (shared runs, queues, apps...)."""
        ...

    def lifecycle(
        self, rng: random.Random, name: str, params: Mapping[str, str], created: float, scale: float
    ) -> list[Step]:
        """A random lifecycle: queued, running with progress moving, then a terminal result."""
        ...


def find(call: Call, service: str, names: Sequence[str], what: str) -> SimJob:
    """The job the call names, or the service's not-found error."""
    key = tuple(str(call.params[n]) for n in names)
    job = call.state.find(service, key)
    if job is None:
        raise_not_found(service, what, "/".join(key))
    return job


def raise_not_found(service: str, what: str, ident: str) -> NoReturn:
    """Raise the service's not-found error (Deadline's names the resource)."""
    extra: dict[str, Any] = {"resourceId": ident, "resourceType": what} if service == "deadline" else {}
    raise SimError("not_found", f"{what} {ident} not found", **extra)


def dig(answer: Mapping[str, Any], *path: str) -> Any:
    """``answer[path[0]][path[1]]...`` or None when any level is missing or not an object."""
    value: Any = answer
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def text_status(value: Any) -> str | None:
    """A status value as text (scripts may set any value)."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


class Timeline:
    """Builds a lifecycle script: offsets in scaled seconds, timestamps in the service's format."""

    def __init__(self, created: float, scale: float, stamp: Callable[[float], Any]) -> None:
        self.created = created
        self.scale = scale
        self.stamp_fn = stamp
        self.steps: list[Step] = []

    def at(self, offset: float, fields: Mapping[str, Any]) -> None:
        """Apply ``fields`` from ``offset`` (unscaled demo seconds) on."""
        self.steps.append(Step(round(offset * self.scale, 3), fields))

    def stamp(self, offset: float) -> Any:
        """The wire timestamp of the moment ``offset`` demo seconds after creation."""
        return self.stamp_fn(self.created + offset * self.scale)


def pick_outcome(rng: random.Random) -> str:
    """success, failure or cancel, in realistic proportions."""
    return rng.choices(("success", "failure", "cancel"), weights=(60, 25, 15))[0]
