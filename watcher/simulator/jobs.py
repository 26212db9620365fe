"""A simulated job: a base answer plus a script of timed patches, read at any moment.

The answer at a moment is the base deep-merged with every step whose offset (seconds since the job
was created, on the monotonic clock) has passed. The merged answer is cached until the next step is due,
so a GetJob costs a bisect and a dict lookup, whatever the script's length.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from watcher.simulator.merge import merged


@dataclass(frozen=True, slots=True)
class Step:
    """From ``at`` seconds after creation on, the answer is deep-merged with ``fields``."""

    at: float
    fields: Mapping[str, Any]


class SimJob:
    """One job of one service: identity, base answer, script and the clock it lives on."""

    __slots__ = (
        "_answer",
        "_applied",
        "_offsets",
        "base",
        "created",
        "created_wall",
        "name",
        "params",
        "seq",
        "service",
        "steps",
    )

    def __init__(
        self,
        *,
        service: str,
        name: str,
        params: Mapping[str, str],
        base: Mapping[str, Any],
        steps: Sequence[Step],
        created: float,
        created_wall: float,
        seq: int,
    ) -> None:
        self.service = service
        self.name = name
        self.params = dict(params)
        self.base = base
        # A stable sort keeps the given order of steps that share an offset.
        self.steps = tuple(sorted(steps, key=lambda s: s.at))
        self._offsets = [s.at for s in self.steps]
        self.created = created  # monotonic seconds
        self.created_wall = created_wall  # epoch seconds, for the timestamps the answer carries
        self.seq = seq  # creation order: list order and pagination cursor
        self._applied = -1
        self._answer: dict[str, Any] = {}

    def answer(self, now: float) -> dict[str, Any]:
        """The answer at monotonic time ``now``. Shared and cached: callers must not modify it."""
        applied = bisect_right(self._offsets, now - self.created)
        if applied != self._applied:
            self._answer = merged(self.base, (s.fields for s in self.steps[:applied]))
            self._applied = applied
        return self._answer

    def finished_at(self) -> float:
        """Seconds after creation when the last step applies (0 for an empty script)."""
        return self._offsets[-1] if self._offsets else 0.0
