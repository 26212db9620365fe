"""botocore's own service models: the source of truth for paths, inputs and answer shapes."""

from __future__ import annotations

import threading
from functools import cache

import botocore.session
from botocore.model import OperationModel, ServiceModel, StructureShape

# The operations the simulator answers, per service (botocore operation names).
SIMULATED: dict[str, tuple[str, ...]] = {
    "devicefarm": ("GetJob", "ListJobs"),
    "deadline": ("GetJob", "ListJobs", "SearchJobs"),
    "amplify": ("GetJob", "ListJobs"),
    "iot": ("DescribeJob", "ListJobs"),
    "braket": ("GetJob", "SearchJobs"),
}

_lock = threading.Lock()  # simulators in several threads may load models at once


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(service: str) -> ServiceModel:
    """The botocore model of ``service`` (loaded once per process)."""
    with _lock:
        return _session().get_service_model(service)


def operation(service: str, name: str) -> OperationModel:
    """The botocore model of one operation."""
    return service_model(service).operation_model(name)


@cache
def member_names(service: str, shape_name: str) -> tuple[str, ...]:
    """Member names of a structure shape, to project a job's answer onto a summary shape."""
    shape = service_model(service).shape_for(shape_name)
    assert isinstance(shape, StructureShape)
    return tuple(shape.members)


def target_prefix(service: str) -> str | None:
    """The ``X-Amz-Target`` prefix of a json-protocol service (``DeviceFarm_20150623``)."""
    prefix = service_model(service).metadata.get("targetPrefix")
    return str(prefix) if prefix else None
