"""A local stand-in for Device Farm, Deadline Cloud, Amplify, IoT and Braket, speaking their wire protocols.

The stock aiobotocore client reaches it with ``endpoint_url`` and any credentials. Jobs live in time,
faults are injected on demand and requests are counted; see :mod:`watcher.simulator.admin` for the
control API.
"""

from __future__ import annotations

from watcher.simulator.runner import RunningSimulator, SimulatorThread, serve, start_simulator

__all__ = ["RunningSimulator", "SimulatorThread", "serve", "start_simulator"]
