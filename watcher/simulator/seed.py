"""``--jobs N``: N jobs spread over the five services, each with a random, realistic lifecycle.

Durations are drawn in demo seconds (queued a few seconds, running 10-40 s) so a demo ends in about a
minute; ``time_scale`` stretches every offset. The same seed gives the same jobs and lifecycles.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from watcher.model import SERVICES
from watcher.simulator.jobs import SimJob
from watcher.simulator.services import SIMS
from watcher.simulator.state import SimState


def seed_jobs(state: SimState, count: int, seed: int = 0, time_scale: float = 1.0) -> list[SimJob]:
    """Create ``count`` random jobs in ``state``, round-robin over the services."""
    rng = random.Random(seed)
    memos: dict[str, dict[str, Any]] = {s: {} for s in SERVICES}
    created = []
    for i in range(count):
        service = SERVICES[i % len(SERVICES)]
        sim = SIMS[service]
        name, overrides = sim.random_identity(rng, i // len(SERVICES), memos[service])

        def lifecycle(params: Mapping[str, str], at: float, name: str = name, sim: Any = sim) -> Any:
            return sim.lifecycle(rng, name, params, at, time_scale)

        created.append(state.add_job(service, name, overrides=overrides, lifecycle=lifecycle))
    return created
