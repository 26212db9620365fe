"""Notifications: routing rules, templates and escaping, apprise delivery from the SQLite outbox.

The engine hands :meth:`Notifier.route` to :meth:`watcher.store.Store.commit_poll`, runs
:meth:`Notifier.run` as a task, calls :meth:`Notifier.wake` after commits that owe notifications and
:meth:`Notifier.drain` on shutdown. The settings models live in :mod:`watcher.notify.settings`.
"""

from watcher.notify.notifier import Notifier, sample_event
from watcher.notify.settings import ChannelConfig, Match, MuteConfig, NotifySettings, RouteConfig

__all__ = ["ChannelConfig", "Match", "MuteConfig", "Notifier", "NotifySettings", "RouteConfig", "sample_event"]
