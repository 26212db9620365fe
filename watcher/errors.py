"""jobwatch's errors: a small hierarchy whose messages say what was wrong and what to do."""

from __future__ import annotations


class JobwatchError(Exception):
    """Base of every error jobwatch raises on purpose; its message is meant for people."""


class ConfigError(JobwatchError):
    """The configuration is wrong: the message names the file, the field and the problem."""


class StateError(JobwatchError):
    """The state file cannot be opened or written (path, permissions, disk full)."""


class ServiceError(JobwatchError):
    """An AWS call failed in a way that polling again will not fix (access denied, bad identity)."""


class DeliveryError(JobwatchError):
    """A notification could not be delivered to a channel."""
