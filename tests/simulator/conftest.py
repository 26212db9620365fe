"""Fixtures of the simulator tests: a factory of real aiobotocore clients pointed at the ``sim`` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from aiobotocore.session import get_session
from simsupport import client_config, region

from watcher.simulator import SimulatorThread

ClientFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
async def clients(sim: SimulatorThread, aws_env: None) -> AsyncIterator[ClientFactory]:
    """``await clients("iot", attempts=1, validate=True)``: a client of the simulator, closed after the test."""
    session = get_session()
    async with AsyncExitStack() as stack:

        async def make(service: str, attempts: int = 1, validate: bool = True) -> Any:
            creator = session.create_client(
                service, region_name=region(service), endpoint_url=sim.url, config=client_config(attempts, validate)
            )
            return await stack.enter_async_context(creator)

        yield make
