"""Service adapters, one module per AWS service; :func:`adapter_for` finds one by name."""

from __future__ import annotations

import importlib
from functools import cache

from watcher.model import SERVICES
from watcher.services.base import Adapter


@cache
def adapter_for(service: str) -> Adapter:
    """The adapter of ``service`` (one of :data:`watcher.model.SERVICES`); KeyError for any other name."""
    if service not in SERVICES:
        raise KeyError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    module = importlib.import_module(f"watcher.services.{service}")
    adapter: Adapter = module.ADAPTER
    return adapter
