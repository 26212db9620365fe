"""The simulated services, one module each: identities, answers, lifecycles and operation handlers."""

from __future__ import annotations

from watcher.simulator.services import amplify, braket, deadline, devicefarm, iot
from watcher.simulator.services.base import Handler, ServiceSim

SIMS: dict[str, ServiceSim] = {m.SIM.service: m.SIM for m in (devicefarm, deadline, amplify, iot, braket)}
OPERATIONS: dict[str, dict[str, Handler]] = {
    m.SIM.service: m.OPERATIONS for m in (devicefarm, deadline, amplify, iot, braket)
}
