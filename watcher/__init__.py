"""jobwatch: tell people, reliably and at once, when their long-running AWS jobs change state."""

__version__ = "0.1.0"
