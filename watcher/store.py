"""SQLite state: the registry of watched jobs, their last snapshots, the event history and the outbox.

One file in WAL mode. The line that matters for reliability: a poll's new snapshot, the events it
produced and the outbox rows they owe are written in ONE transaction (:meth:`Store.commit_poll`).
A crash before the commit repeats the poll; a crash after it leaves the outbox holding what must be
sent, so delivery is at-least-once with at most one repeat per crash.

All times in the database are UTC epoch seconds (REAL). The store is used from one event loop
thread; every method is short and synchronous (no await inside a transaction).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from watcher.errors import StateError
from watcher.model import Event, EventKind, JobInfo, Snapshot

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    key             TEXT PRIMARY KEY,
    service         TEXT NOT NULL,
    info            TEXT NOT NULL,          -- JobInfo JSON (ref, name, tags, channels)
    source          TEXT NOT NULL,          -- config | api | cli | discovery
    interval        REAL,                   -- per-job base poll interval, NULL: the service's
    added_at        REAL NOT NULL,
    snapshot        TEXT,                   -- last Snapshot JSON, NULL before the first answer
    phase           TEXT,
    status          TEXT,
    done            INTEGER NOT NULL DEFAULT 0,  -- terminal, vanished or removed: no longer polled
    done_reason     TEXT,
    last_poll_at    REAL,
    next_poll_at    REAL,
    last_change_at  REAL,
    stuck_notified  INTEGER NOT NULL DEFAULT 0,
    missing         INTEGER NOT NULL DEFAULT 0,  -- consecutive not-found answers
    failures        INTEGER NOT NULL DEFAULT 0,  -- consecutive failed polls
    last_error      TEXT
);
CREATE INDEX IF NOT EXISTS jobs_active ON jobs (done, next_poll_at);
CREATE TABLE IF NOT EXISTS events (
    id        INTEGER PRIMARY KEY,
    job_key   TEXT NOT NULL,
    at        REAL NOT NULL,
    kind      TEXT NOT NULL,
    event     TEXT NOT NULL,   -- Event JSON
    job       TEXT NOT NULL,   -- JobInfo JSON at the time of the event
    snapshot  TEXT             -- Snapshot JSON at the time of the event
);
CREATE INDEX IF NOT EXISTS events_job ON events (job_key, id);
CREATE TABLE IF NOT EXISTS outbox (
    id               INTEGER PRIMARY KEY,
    event_id         INTEGER NOT NULL REFERENCES events (id),
    channel          TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | expired
    created_at       REAL NOT NULL,
    next_attempt_at  REAL NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    sent_at          REAL,
    repeat           INTEGER NOT NULL DEFAULT 0        -- 0 first notice, n: n-th repeat
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_event ON outbox (event_id);
-- notifications: a job's alerts acknowledged up to (and including) one event; repeats stop there
CREATE TABLE IF NOT EXISTS acks (
    job_key   TEXT PRIMARY KEY,
    event_id  INTEGER NOT NULL,
    at        REAL NOT NULL,
    comment   TEXT
);
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def epoch(value: datetime) -> float:
    """Epoch seconds of an aware datetime."""
    return value.timestamp()


def from_epoch(value: float | None) -> datetime | None:
    """Aware UTC datetime from epoch seconds (None stays None)."""
    return None if value is None else datetime.fromtimestamp(value, UTC)


@dataclass(slots=True)
class JobState:
    """A watched job and what jobwatch knows of it: the persisted row, also the engine's working copy."""

    info: JobInfo
    source: str = "config"
    interval: float | None = None
    added_at: float = 0.0
    snapshot: Snapshot | None = None
    done: bool = False
    done_reason: str | None = None
    last_poll_at: float | None = None
    next_poll_at: float | None = None
    last_change_at: float | None = None
    stuck_notified: bool = False
    missing: int = 0
    failures: int = 0
    last_error: str | None = None

    @property
    def key(self) -> str:
        return self.info.key

    def to_public(self) -> dict[str, Any]:
        """JSON-ready view for `jobwatch list --json` and the HTTP API."""
        snap = self.snapshot
        return {
            "key": self.key,
            "service": self.info.ref.service,
            "params": dict(self.info.ref.params),
            "region": self.info.ref.region,
            "name": self.info.name,
            "tags": list(self.info.tags),
            "channels": list(self.info.channels),
            "source": self.source,
            "phase": snap.phase.value if snap else None,
            "status": snap.status if snap else None,
            "result": snap.result if snap else None,
            "done": self.done,
            "done_reason": self.done_reason,
            "last_poll_at": _iso(self.last_poll_at),
            "next_poll_at": None if self.done else _iso(self.next_poll_at),
            "last_change_at": _iso(self.last_change_at),
            "failures": self.failures,
            "last_error": self.last_error,
        }


def _iso(value: float | None) -> str | None:
    moment = from_epoch(value)
    return None if moment is None else moment.isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One pending outbox row with what is needed to render it."""

    id: int
    event_id: int
    channel: str
    created_at: float
    attempts: int
    repeat: int
    event: Event
    job: JobInfo
    snapshot: Snapshot | None


@dataclass(slots=True)
class HistoryEntry:
    """An event and, per channel, its delivery state (for `jobwatch history` and the API)."""

    id: int
    event: Event
    job: JobInfo
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job": self.job.display_name,
            **self.event.to_dict(),
            "deliveries": self.deliveries,
        }


Router = Callable[[Event, JobInfo], Sequence[str]]
"""Chooses the channels an event is owed to (mutes applied); called inside the commit transaction."""

_JOB_COLUMNS = (
    "key, info, source, interval, added_at, snapshot, done, done_reason, last_poll_at, next_poll_at,"
    " last_change_at, stuck_notified, missing, failures, last_error"
)


class Store:
    """The state file. Open with :meth:`open`; close with :meth:`close` (or use as a context manager)."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path

    # -- life ------------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open (creating when missing) the state file; StateError says what is wrong and what to do."""
        where = str(path)
        if where != ":memory:":
            parent = Path(where).expanduser().resolve().parent
            if not parent.is_dir():
                raise StateError(
                    f"state file {where}: directory {parent} does not exist; create it or set watcher.state"
                )
        try:
            conn = sqlite3.connect(where, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise StateError(
                    f"state file {where} was written by a newer jobwatch (schema {row[0]}); upgrade jobwatch"
                )
        except sqlite3.Error as exc:
            raise StateError(f"state file {where}: {exc}; check the path, its permissions and free disk space") from exc
        return cls(conn, where)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; sqlite errors become StateError."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StateError(f"state file {self.path}: {exc}") from exc
        try:
            yield self.conn
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error):  # disk full, read-only, I/O error while writing
                raise StateError(f"state file {self.path}: {exc}; check free disk space and permissions") from exc
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StateError(f"state file {self.path}: {exc}; check free disk space and permissions") from exc

    def _rollback(self) -> None:
        # SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR): a second ROLLBACK
        # would fail and hide the error that matters.
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    # -- registry --------------------------------------------------------------------------------

    def upsert_job(self, state: JobState, *, revive: bool = False) -> bool:
        """Add a job, or refresh its name/tags/channels/interval if it is known. True when it was new.

        ``revive`` makes a job that was removed earlier watched again (it keeps its last snapshot,
        so a transition that happened meanwhile is still reported).
        """
        info_json = _dumps(state.info.to_dict())
        with self.transaction() as conn:
            row = conn.execute("SELECT done, done_reason FROM jobs WHERE key = ?", (state.key,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO jobs (key, service, info, source, interval, added_at, next_poll_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        state.key,
                        state.info.ref.service,
                        info_json,
                        state.source,
                        state.interval,
                        state.added_at,
                        state.next_poll_at,
                    ),
                )
                return True
            conn.execute("UPDATE jobs SET info = ?, interval = ? WHERE key = ?", (info_json, state.interval, state.key))
            if revive and row[0] and row[1] == "removed":
                conn.execute(
                    "UPDATE jobs SET done = 0, done_reason = NULL, source = ? WHERE key = ?",
                    (state.source, state.key),
                )
            return False

    def remove_job(self, key: str) -> bool:
        """Stop watching ``key`` and reminding about it (its history stays). False for an unknown or removed job.

        A job that has ended can be removed too: that is how reminders of its failure stop.
        """
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE jobs SET done = 1, done_reason = 'removed' WHERE key = ? AND done_reason IS NOT 'removed'",
                (key,),
            )
            return cur.rowcount > 0

    def retire_config_jobs(self, keep: Iterable[str]) -> list[str]:
        """Jobs that came from the config file but are no longer in it stop being watched."""
        keep_set = set(keep)
        rows = self.conn.execute("SELECT key FROM jobs WHERE source = 'config' AND done = 0").fetchall()
        gone = [key for (key,) in rows if key not in keep_set]
        for key in gone:
            self.remove_job(key)
        return gone

    def jobs(self, *, active_only: bool = False) -> list[JobState]:
        """Every job (or only those still polled), oldest first."""
        where = " WHERE done = 0" if active_only else ""
        rows = self.conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs{where} ORDER BY added_at, key").fetchall()
        return [_job_from_row(row) for row in rows]

    def job(self, key: str) -> JobState | None:
        row = self.conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else _job_from_row(row)

    def job_counts(self) -> dict[tuple[str, str], int]:
        """Watched (not done) jobs by (service, phase) for the metrics."""
        rows = self.conn.execute(
            "SELECT service, COALESCE(phase, 'pending'), COUNT(*) FROM jobs WHERE done = 0 GROUP BY 1, 2"
        ).fetchall()
        return {(service, phase): count for service, phase, count in rows}

    # -- polls -----------------------------------------------------------------------------------

    def commit_poll(self, state: JobState, events: Sequence[Event], route: Router | None, now: float) -> int:
        """Persist the job's new state, its events and their outbox rows in one transaction.

        Returns how many outbox rows were written.
        """
        snap = state.snapshot
        owed = 0
        with self.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET snapshot = ?, phase = ?, status = ?, done = ?, done_reason = ?, last_poll_at = ?,"
                " next_poll_at = ?, last_change_at = ?, stuck_notified = ?, missing = ?, failures = ?,"
                " last_error = ? WHERE key = ?",
                (
                    None if snap is None else _dumps(snap.to_dict()),
                    None if snap is None else snap.phase.value,
                    None if snap is None else snap.status,
                    int(state.done),
                    state.done_reason,
                    state.last_poll_at,
                    state.next_poll_at,
                    state.last_change_at,
                    int(state.stuck_notified),
                    state.missing,
                    state.failures,
                    state.last_error,
                    state.key,
                ),
            )
            if events:
                job_json = _dumps(state.info.to_dict())
                snap_json = None if snap is None else _dumps(snap.to_dict())
                for event in events:
                    cur = conn.execute(
                        "INSERT INTO events (job_key, at, kind, event, job, snapshot) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            state.key,
                            epoch(event.at),
                            event.kind.value,
                            _dumps(event.to_dict()),
                            job_json,
                            snap_json,
                        ),
                    )
                    if route is None:
                        continue
                    event_id = cur.lastrowid
                    assert event_id is not None
                    for channel in route(event, state.info):
                        conn.execute(
                            "INSERT INTO outbox (event_id, channel, created_at, next_attempt_at) VALUES (?, ?, ?, ?)",
                            (event_id, channel, now, now),
                        )
                        owed += 1
        return owed

    def touch_polls(self, polls: Iterable[tuple[str, float, float]]) -> None:
        """Record last/next poll times of unchanged polls in one batch: (key, last_poll_at, next_poll_at)."""
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE jobs SET last_poll_at = ?, next_poll_at = ?, failures = 0, last_error = NULL WHERE key = ?",
                [(last, nxt, key) for key, last, nxt in polls],
            )

    # -- outbox ----------------------------------------------------------------------------------

    def enqueue(self, event_id: int, channels: Iterable[str], now: float, *, repeat: int = 0) -> int:
        """Owe an existing event to more channels (repeats, re-sends). Returns rows written."""
        rows = [(event_id, channel, now, now, repeat) for channel in channels]
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO outbox (event_id, channel, created_at, next_attempt_at, repeat) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def mark_sent(self, ids: Iterable[int], now: float) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL"
                " WHERE id = ? AND state = 'pending'",
                [(now, i) for i in ids],
            )

    def mark_retry(self, ids: Iterable[int], next_attempt_at: float, error: str) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                [(next_attempt_at, error, i) for i in ids],
            )

    def mark_expired(self, ids: Iterable[int], error: str) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET state = 'expired', attempts = attempts + 1, last_error = ? WHERE id = ?",
                [(error, i) for i in ids],
            )

    def prune(self, before: float) -> tuple[int, int]:
        """Forget history older than ``before``: settled events (no pending delivery) and ended jobs with no
        events left. Returns (events, jobs) removed. Watched jobs and owed notifications are never touched."""
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM outbox WHERE state != 'pending' AND event_id IN (SELECT id FROM events WHERE at < ?)",
                (before,),
            )
            events = conn.execute(
                "DELETE FROM events WHERE at < ? AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = events.id)",
                (before,),
            ).rowcount
            jobs = conn.execute(
                "DELETE FROM jobs WHERE done = 1 AND COALESCE(last_poll_at, added_at) < ?"
                " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.job_key = jobs.key)",
                (before,),
            ).rowcount
            conn.execute("DELETE FROM acks WHERE job_key NOT IN (SELECT key FROM jobs)")
        return events, jobs

    def outbox_depth(self) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()
        return int(row[0])

    # -- history ---------------------------------------------------------------------------------

    def history(
        self, job_key: str | None = None, *, limit: int = 100, kinds: Iterable[EventKind] | None = None
    ) -> list[HistoryEntry]:
        """Newest events first (optionally of one job), each with its per-channel delivery state."""
        sql = "SELECT id, event, job FROM events"
        args: list[Any] = []
        where = []
        if job_key is not None:
            where.append("job_key = ?")
            args.append(job_key)
        if kinds is not None:
            names = [k.value for k in kinds]
            where.append(f"kind IN ({','.join('?' * len(names))})")
            args.extend(names)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        entries = [
            HistoryEntry(
                id=row[0],
                event=Event.from_dict(json.loads(row[1])),
                job=JobInfo.from_dict(json.loads(row[2])),
            )
            for row in self.conn.execute(sql, args).fetchall()
        ]
        if entries:
            by_id = {entry.id: entry for entry in entries}
            marks = ",".join("?" * len(by_id))
            for event_id, channel, state, attempts, sent_at, last_error, repeat in self.conn.execute(
                "SELECT event_id, channel, state, attempts, sent_at, last_error, repeat FROM outbox"
                f" WHERE event_id IN ({marks}) ORDER BY id",
                list(by_id),
            ):
                by_id[event_id].deliveries.append(
                    {
                        "channel": channel,
                        "state": state,
                        "attempts": attempts,
                        "sent_at": _iso(sent_at),
                        "last_error": last_error,
                        "repeat": repeat,
                    }
                )
        return entries

    # -- notifications: dispatch order, deferral, acknowledgements, repeats -------------------------

    def dispatchable(
        self, now: float, limit: int = 100, *, flush: bool = False, skip: Iterable[str] = ()
    ) -> list[Delivery]:
        """Pending rows that may be sent now, by row id, keeping event order per (channel, job).

        A row is due when its next attempt time has come (with ``flush``, also when it was never tried:
        held for a digest or behind a channel outage). A due row is left out while an earlier pending row
        of the same channel and job is not due, so a job's notifications reach each channel in order.
        Channels in ``skip`` (busy sending) are left out.
        """
        skipped = sorted(set(skip))
        due = "(%s.next_attempt_at <= ? OR (? AND %s.attempts = 0))"
        # a job has few rows, so the check for an earlier row that is not due looks only at the job's own
        # events (events_job index) and their rows (outbox_event index), however long the outbox is; CROSS JOIN
        # keeps SQLite to that order (left to itself it scanned every pending row for every candidate)
        rows = self.conn.execute(
            "SELECT o.id, o.event_id, o.channel, o.created_at, o.attempts, o.repeat, e.event, e.job, e.snapshot"
            " FROM outbox o JOIN events e ON e.id = o.event_id"
            f" WHERE o.state = 'pending' AND {due % ('o', 'o')}"
            f" AND o.channel NOT IN ({','.join('?' * len(skipped))})"
            " AND NOT EXISTS (SELECT 1 FROM events pe CROSS JOIN outbox p ON p.event_id = pe.id"
            "  WHERE pe.job_key = e.job_key AND p.channel = o.channel AND p.state = 'pending' AND p.id < o.id"
            f"  AND NOT {due % ('p', 'p')})"
            " ORDER BY o.id LIMIT ?",
            [now, int(flush), *skipped, now, int(flush), limit],
        ).fetchall()
        return [_delivery(row) for row in rows]

    def next_dispatch_at(self, now: float, skip: Iterable[str] = ()) -> float | None:
        """When the next outbox row can be sent (channels in ``skip`` left out); None when nothing is pending.

        A row waits for the earlier rows of its channel and job, so when the earliest row is due already
        but could not be handed out, the answer is the earliest next attempt of the first pending rows of
        each (channel, job) instead (a slower query, needed only then).
        """
        skipped = sorted(set(skip))
        marks = ",".join("?" * len(skipped))
        row = self.conn.execute(
            f"SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending' AND channel NOT IN ({marks})",
            skipped,
        ).fetchone()
        if row is None or row[0] is None or row[0] > now:
            return None if row is None or row[0] is None else float(row[0])
        row = self.conn.execute(
            "SELECT MIN(o.next_attempt_at) FROM outbox o WHERE o.id IN ("
            " SELECT MIN(p.id) FROM outbox p JOIN events e ON e.id = p.event_id"
            f" WHERE p.state = 'pending' AND p.channel NOT IN ({marks})"
            " GROUP BY p.channel, e.job_key)",
            skipped,
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def defer(self, ids: Iterable[int], until: float) -> None:
        """Move pending rows' next attempt to ``until`` without counting an attempt (digest hold, outage)."""
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND state = 'pending'",
                [(until, i) for i in ids],
            )

    def acknowledge(self, job_key: str, now: float, comment: str | None = None) -> int | None:
        """Acknowledge a job's alerts up to its latest event: its repeats stop and pending repeats are dropped.

        Returns the event id acknowledged up to, None when the job has no events.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT MAX(id) FROM events WHERE job_key = ?", (job_key,)).fetchone()
            if row is None or row[0] is None:
                return None
            upto = int(row[0])
            conn.execute(
                "INSERT INTO acks (job_key, event_id, at, comment) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (job_key) DO UPDATE SET event_id = excluded.event_id, at = excluded.at,"
                " comment = excluded.comment",
                (job_key, upto, now, comment),
            )
            conn.execute(
                "UPDATE outbox SET state = 'expired', last_error = 'acknowledged' WHERE state = 'pending'"
                " AND repeat > 0 AND event_id IN (SELECT id FROM events WHERE job_key = ? AND id <= ?)",
                (job_key, upto),
            )
            return upto

    def acknowledged(self, job_key: str) -> tuple[int, float, str | None] | None:
        """(event id acknowledged up to, when, comment) of a job, or None."""
        row = self.conn.execute("SELECT event_id, at, comment FROM acks WHERE job_key = ?", (job_key,)).fetchone()
        return None if row is None else (int(row[0]), float(row[1]), row[2])

    def alerting(self) -> list[Alerting]:
        """Each job's latest stuck or phase event not acknowledged yet, with what the repeat logic needs."""
        rows = self.conn.execute(
            "SELECT e.id, e.event, e.job, e.snapshot, j.done, j.done_reason,"
            "       (SELECT MAX(x.id) FROM events x WHERE x.job_key = e.job_key AND x.kind != 'error')"
            " FROM (SELECT job_key, MAX(id) AS id FROM events WHERE kind IN ('stuck', 'phase') GROUP BY job_key) l"
            " JOIN events e ON e.id = l.id JOIN jobs j ON j.key = e.job_key"
            " LEFT JOIN acks a ON a.job_key = e.job_key"
            " WHERE e.id > COALESCE(a.event_id, 0)"
        ).fetchall()
        return [
            Alerting(
                event_id=row[0],
                event=Event.from_dict(json.loads(row[1])),
                job=JobInfo.from_dict(json.loads(row[2])),
                snapshot=None if row[3] is None else Snapshot.from_dict(json.loads(row[3])),
                done=bool(row[4]),
                done_reason=row[5],
                latest=row[0] >= (row[6] or 0),
            )
            for row in rows
        ]

    def delivery_marks(self, event_ids: Iterable[int]) -> dict[tuple[int, str], tuple[int, float, bool]]:
        """Per (event, channel): highest repeat number, last sent (else queued) time, whether a row is pending."""
        ids = list(event_ids)
        marks: dict[tuple[int, str], tuple[int, float, bool]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for event_id, channel, repeat, last, pending in self.conn.execute(
                "SELECT event_id, channel, MAX(repeat), MAX(COALESCE(sent_at, created_at)),"
                " SUM(state = 'pending') FROM outbox"
                f" WHERE event_id IN ({','.join('?' * len(chunk))}) GROUP BY event_id, channel",
                chunk,
            ):
                marks[(event_id, channel)] = (int(repeat), float(last), bool(pending))
        return marks


@dataclass(slots=True)
class Alerting:
    """A job's latest stuck or phase event (for repeats); ``latest``: no later event of the job but errors."""

    event_id: int
    event: Event
    job: JobInfo
    snapshot: Snapshot | None
    done: bool
    done_reason: str | None
    latest: bool


def _delivery(row: Sequence[Any]) -> Delivery:
    """A Delivery from (outbox id, event id, channel, created_at, attempts, repeat, event, job, snapshot)."""
    return Delivery(
        id=row[0],
        event_id=row[1],
        channel=row[2],
        created_at=row[3],
        attempts=row[4],
        repeat=row[5],
        event=Event.from_dict(json.loads(row[6])),
        job=JobInfo.from_dict(json.loads(row[7])),
        snapshot=None if row[8] is None else Snapshot.from_dict(json.loads(row[8])),
    )


def _job_from_row(row: Sequence[Any]) -> JobState:
    return JobState(
        info=JobInfo.from_dict(json.loads(row[1])),
        source=row[2],
        interval=row[3],
        added_at=row[4],
        snapshot=None if row[5] is None else Snapshot.from_dict(json.loads(row[5])),
        done=bool(row[6]),
        done_reason=row[7],
        last_poll_at=row[8],
        next_poll_at=row[9],
        last_change_at=row[10],
        stuck_notified=bool(row[11]),
        missing=row[12],
        failures=row[13],
        last_error=row[14],
    )
