"""Helpers for the simulator tests: real aiobotocore clients, waiting on conditions, shape checks."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from watcher.simulator.models import operation

T = TypeVar("T")
REGIONS = {"devicefarm": "us-west-2"}
READ_CALL = {  # the read call of each service and where its primary status sits in the answer
    "devicefarm": ("get_job", ("job", "status")),
    "deadline": ("get_job", ("taskRunStatus",)),
    "amplify": ("get_job", ("job", "summary", "status")),
    "iot": ("describe_job", ("job", "status")),
    "braket": ("get_job", ("status",)),
}


def client_config(attempts: int = 1, validate: bool = True) -> AioConfig:
    """How jobwatch configures clients against an endpoint URL (see DESIGN.md, facts measured)."""
    return AioConfig(
        inject_host_prefix=False,
        retries={"mode": "standard", "total_max_attempts": attempts},
        parameter_validation=validate,
        connect_timeout=5,
        read_timeout=10,
    )


def region(service: str) -> str:
    return REGIONS.get(service, "us-east-1")


async def read(client: Any, service: str, params: dict[str, str]) -> dict[str, Any]:
    """The service's get/describe call, as jobwatch makes it (Braket asks for QueueInfo)."""
    call, _ = READ_CALL[service]
    extra = {"additionalAttributeNames": ["QueueInfo"]} if service == "braket" else {}
    answer: dict[str, Any] = await getattr(client, call)(**params, **extra)
    return answer


def status_of(service: str, answer: dict[str, Any]) -> Any:
    value: Any = answer
    for key in READ_CALL[service][1]:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def assert_shape(service: str, op: str, answer: dict[str, Any]) -> None:
    """The parsed answer satisfies the operation's output shape (required members, types)."""
    data = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    report = ParamValidator().validate(data, operation(service, op).output_shape)
    assert not report.has_errors(), report.generate_report()


def error_code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def http_status(error: ClientError) -> int:
    return int(error.response["ResponseMetadata"]["HTTPStatusCode"])


async def wait_until(
    fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], within: float = 5.0, every: float = 0.02
) -> list[T]:
    """Call ``fetch`` until ``done`` holds for its result (fail after ``within`` s); every result seen."""
    seen: list[T] = []
    with anyio.fail_after(within):
        while True:
            seen.append(await fetch())
            if done(seen[-1]):
                return seen
            await anyio.sleep(every)


def changes(values: list[Any]) -> list[Any]:
    """``values`` with consecutive repeats dropped (the sequence of states seen)."""
    result: list[Any] = []
    for value in values:
        if not result or result[-1] != value:
            result.append(value)
    return result


def monotonic() -> float:
    return time.monotonic()
