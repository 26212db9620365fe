"""The simulator's state: simulated jobs by service, fault settings, counters and the clocks."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from watcher.model import SERVICES
from watcher.simulator.faults import Faults
from watcher.simulator.jobs import SimJob, Step
from watcher.simulator.services import SIMS
from watcher.simulator.stats import Stats


class JobConflict(ValueError):
    """A job of that service already has that name."""


class SimState:
    """Everything one simulator holds. Lives on one event loop: no locks."""

    def __init__(
        self,
        *,
        seed: int = 0,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.seed = seed
        self.time_scale = time_scale
        self.clock = clock
        self.wall = wall
        self.faults = Faults()
        self.fault_rng = random.Random(f"faults-{seed}")
        self.stats = Stats(clock)
        self._jobs: dict[str, dict[str, SimJob]] = {s: {} for s in SERVICES}
        self._by_identity: dict[str, dict[tuple[str, ...], SimJob]] = {s: {} for s in SERVICES}
        self._numbers: dict[str, int] = {}
        self._seq = 0

    def next_number(self, group: str) -> int:
        """1, 2, 3... per group (Amplify job ids per branch, Device Farm job index per run)."""
        number = self._numbers.get(group, 0) + 1
        self._numbers[group] = number
        return number

    def add_job(
        self,
        service: str,
        name: str | None = None,
        script: Sequence[Step] = (),
        overrides: Mapping[str, str] | None = None,
        lifecycle: Callable[[Mapping[str, str], float], Sequence[Step]] | None = None,
    ) -> SimJob:
        """Create a job now. KeyError: unknown service; JobConflict: name taken; ValueError: bad name/params.

        ``lifecycle(params, created)`` adds generated steps once the job's params and creation time are known.
        """
        sim = SIMS[service]
        if name is None:
            name = f"{service}-job-{self._seq + 1}"
        problem = sim.check_name(name)
        if problem:
            raise ValueError(problem)
        if name in self._jobs[service]:
            raise JobConflict(f"a {service} job named {name!r} exists already")
        overrides = dict(overrides or {})
        extra = set(overrides) - set(sim.overridable)
        if extra:
            allowed = ", ".join(sim.overridable) or "none"
            raise ValueError(f"{service} params cannot set {', '.join(sorted(extra))} (allowed: {allowed})")
        params = sim.make_params(name, overrides, self)
        key = tuple(params[n] for n in sim.identity)
        if key in self._by_identity[service]:
            raise JobConflict(f"a {service} job with params {params} exists already")
        created_wall = self.wall()
        self._seq += 1
        steps = list(script) + (list(lifecycle(params, created_wall)) if lifecycle else [])
        job = SimJob(
            service=service,
            name=name,
            params=params,
            base=sim.base(name, params, created_wall),
            steps=steps,
            created=self.clock(),
            created_wall=created_wall,
            seq=self._seq,
        )
        self._jobs[service][name] = job
        self._by_identity[service][key] = job
        return job

    def remove_job(self, service: str, name: str) -> bool:
        """Make a job vanish; False when there was none."""
        job = self._jobs.get(service, {}).pop(name, None)
        if job is None:
            return False
        key = tuple(job.params[n] for n in SIMS[service].identity)
        self._by_identity[service].pop(key, None)
        return True

    def clear_jobs(self) -> None:
        """Drop every job (serial numbers keep counting so identities are never reused)."""
        for service in SERVICES:
            self._jobs[service].clear()
            self._by_identity[service].clear()

    def find(self, service: str, key: tuple[str, ...]) -> SimJob | None:
        """The job with these identity values (in the service's identity order)."""
        return self._by_identity[service].get(key)

    def listing(self, service: str) -> list[SimJob]:
        """A service's jobs in creation order."""
        return list(self._jobs[service].values())

    def status(self, job: SimJob) -> str | None:
        """The job's primary status now."""
        return SIMS[job.service].status(job.answer(self.clock()))

    def entry(self, job: SimJob) -> dict[str, Any]:
        """The control API's view of a job: service, get/describe params, name, status now."""
        return {"service": job.service, "params": dict(job.params), "name": job.name, "status": self.status(job)}

    def entries(self) -> list[dict[str, Any]]:
        """Every job's entry, service by service in creation order."""
        return [self.entry(job) for service in SERVICES for job in self._jobs[service].values()]
