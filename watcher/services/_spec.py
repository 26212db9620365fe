"""The common part of every adapter: identity checks, request building and discovery plumbing.

A service module subclasses :class:`ServiceSpec`, declares its class attributes (call, identity fields with
the patterns of botocore's model, status map, discovery call) and writes ``read``, ``discovered`` and
``console_url``. The attributes are plain class attributes, not a frozen dataclass, because
:class:`~watcher.services.base.Adapter` declares them as (settable) protocol members.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from watcher.model import Phase, Snapshot
from watcher.services.base import AnswerError, Discovery


@dataclass(frozen=True, slots=True)
class IdField:
    """One identity parameter of the read call, with the constraints botocore's model gives it.

    ``pattern`` is the model's pattern, matched against the whole value; ``looks_like`` shows a user what
    a valid value looks like.
    """

    name: str
    pattern: str
    looks_like: str
    min_length: int = 1
    max_length: int | None = None

    def problem(self, service: str, value: Any) -> str | None:
        """What is wrong with ``value`` for this field, or None when it is fine."""
        if not isinstance(value, str):
            return f"field {self.name!r} must be a string, not {type(value).__name__}"
        if len(value) < self.min_length:
            if not value:
                return f"field {self.name!r} is empty"
            return (
                f"field {self.name!r} is {len(value)} characters long; {service} needs at least "
                f"{self.min_length} ({self.looks_like})"
            )
        if self.max_length is not None and len(value) > self.max_length:
            return f"field {self.name!r} is {len(value)} characters long; {service} allows at most {self.max_length}"
        if re.fullmatch(self.pattern, value) is None:
            shown = value if len(value) <= 80 else value[:77] + "..."
            return f"field {self.name!r} ({shown!r}) does not look like {self.looks_like}"
        return None


class ServiceSpec:
    """Base of the five adapters: everything but reading answers, discovery items and console links."""

    service: str
    operation: str
    fields: tuple[IdField, ...]
    identity: tuple[str, ...]
    default_region: str | None = None
    statuses: Mapping[str, Phase]
    terminal_statuses: frozenset[str]
    discovery: Discovery | None = None
    extras: Mapping[str, Any] = {}  # fixed keyword arguments added to every read call
    discovery_defaults: Mapping[str, Any] = {}  # keyword arguments of the discovery call when a rule omits them

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # the identity order is the order of the declared fields: one source of truth
        cls.identity = tuple(spec.name for spec in cls.fields)

    def request(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Keyword arguments for the read call: the identity parameters plus the fixed extras."""
        call: dict[str, Any] = {name: params[name] for name in self.identity}
        for name, value in self.extras.items():
            call[name] = list(value) if isinstance(value, list) else value  # a fresh list per call
        return call

    def check_params(self, params: Mapping[str, Any]) -> list[str]:
        """Problems with a job's identity parameters, each naming the field; empty when fine."""
        problems: list[str] = []
        for spec in self.fields:
            if spec.name not in params:
                problems.append(f"missing field {spec.name!r} ({spec.looks_like})")
                continue
            problem = spec.problem(self.service, params[spec.name])
            if problem is not None:
                problems.append(problem)
        for name in sorted(set(params) - set(self.identity), key=str):
            problems.append(f"unexpected field {name!r}: {self.service} jobs are named by {', '.join(self.identity)}")
        return problems

    def discovery_request(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for the discovery call from a rule; ValueError names a missing required key."""
        if self.discovery is None:
            raise ValueError(f"{self.service} has no discovery call")
        call: dict[str, Any] = {k: list(v) if isinstance(v, list) else v for k, v in self.discovery_defaults.items()}
        for name in self.discovery.required:
            if rule.get(name) in (None, ""):
                raise ValueError(f"a {self.service} discovery rule needs {name!r}")
            call[name] = rule[name]
        for name in self.discovery.optional:
            if rule.get(name) is not None:
                call[name] = rule[name]
        return call

    def read(self, answer: Mapping[str, Any]) -> Snapshot:  # pragma: no cover - every service overrides it
        """Read one answer of the read call (each service writes its own)."""
        raise NotImplementedError

    def discovered(self, rule: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
        """Identity and name from one discovery item (each service writes its own)."""
        raise NotImplementedError  # pragma: no cover

    def console_url(self, params: Mapping[str, str], region: str) -> str | None:
        """The AWS console page of the job; None unless the service builds one."""
        return None

    def item_field(self, item: Mapping[str, Any], name: str) -> str:
        """A required identity value of a discovery item; AnswerError when it is missing or not text."""
        value = item.get(name) if isinstance(item, Mapping) else None
        if not isinstance(value, str) or not value:
            raise AnswerError(f"{self.service} discovery item has no {name!r}")
        return value
