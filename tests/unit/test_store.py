"""The SQLite store: registry, snapshots, events and outbox in one file that survives reopening."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from watcher.errors import StateError
from watcher.model import Event, EventKind, JobInfo, JobRef, Phase, Snapshot
from watcher.store import JobState, Store

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _info(job_id: str = "fw-rollout", name: str | None = "firmware") -> JobInfo:
    return JobInfo(ref=JobRef("iot", {"jobId": job_id}), name=name, tags=("fleet",))


def _snap(status: str = "IN_PROGRESS", phase: Phase = Phase.RUNNING) -> Snapshot:
    return Snapshot(phase=phase, status=status, terminal=phase.terminal, counters={"succeeded": 3})


def _event(kind: EventKind = EventKind.PHASE, new: str = "succeeded") -> Event:
    return Event(kind=kind, job_key="iot:fw-rollout", service="iot", at=T0, old="running", new=new, summary="done")


def test_job_state_events_and_outbox_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store.open(path) as store:
        state = JobState(info=_info(), added_at=1.0, next_poll_at=1.0)
        assert store.upsert_job(state) is True
        assert store.upsert_job(state) is False
        state.snapshot = _snap("COMPLETED", Phase.SUCCEEDED)
        state.done, state.done_reason = True, "terminal"
        owed = store.commit_poll(state, [_event()], lambda e, j: ["team", "oncall"], now=10.0)
        assert owed == 2
    with Store.open(path) as store:
        (job,) = store.jobs()
        assert job.info == _info()
        assert job.snapshot == _snap("COMPLETED", Phase.SUCCEEDED)
        assert job.done and job.done_reason == "terminal"
        assert store.jobs(active_only=True) == []
        due = store.dispatchable(10.0)
        assert [d.channel for d in due] == ["team", "oncall"]
        assert due[0].event == _event() and due[0].job == _info()


def test_outbox_rows_are_sent_retried_or_expired(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        state = JobState(info=_info(), added_at=1.0)
        store.upsert_job(state)
        store.commit_poll(state, [_event(), _event(EventKind.STUCK)], lambda e, j: ["team"], now=5.0)
        first, second = store.dispatchable(5.0)
        store.mark_sent([first.id], now=6.0)
        store.mark_retry([second.id], next_attempt_at=60.0, error="HTTP 503")
        assert store.dispatchable(30.0) == []
        assert store.next_dispatch_at(30.0) == 60.0
        assert store.outbox_depth() == 1
        store.mark_expired([second.id], error="older than max_age")
        assert store.outbox_depth() == 0
        newest, oldest = store.history("iot:fw-rollout")
        assert oldest.deliveries[0]["state"] == "sent" and oldest.deliveries[0]["sent_at"]
        assert newest.deliveries[0]["state"] == "expired"
        assert newest.deliveries[0]["last_error"] == "older than max_age"


def test_a_failed_commit_writes_nothing(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        state = JobState(info=_info(), added_at=1.0)
        store.upsert_job(state)

        def broken_router(event: Event, job: JobInfo) -> list[str]:
            raise RuntimeError("router failed mid-transaction")

        state.snapshot = _snap()
        with pytest.raises(RuntimeError):
            store.commit_poll(state, [_event()], broken_router, now=5.0)
        assert store.history() == []
        assert store.job(state.key).snapshot is None  # type: ignore[union-attr]


def test_removed_jobs_keep_history_and_can_be_revived(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        state = JobState(info=_info(), added_at=1.0)
        store.upsert_job(state)
        store.commit_poll(state, [_event(EventKind.WATCHING)], None, now=2.0)
        assert store.remove_job(state.key) is True
        assert store.remove_job(state.key) is False
        assert store.jobs(active_only=True) == []
        assert len(store.history()) == 1
        store.upsert_job(state, revive=True)
        assert [j.key for j in store.jobs(active_only=True)] == [state.key]


def test_config_jobs_no_longer_configured_are_retired(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        for job_id in ("a", "b"):
            store.upsert_job(JobState(info=_info(job_id), source="config", added_at=1.0))
        store.upsert_job(JobState(info=_info("c"), source="api", added_at=1.0))
        assert store.retire_config_jobs(["iot:a"]) == ["iot:b"]
        assert sorted(j.key for j in store.jobs(active_only=True)) == ["iot:a", "iot:c"]


def test_unwritable_place_is_a_clear_state_error(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="does not exist"):
        Store.open(tmp_path / "missing-dir" / "s.db")
    (tmp_path / "notadb").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="notadb"):
        Store.open(tmp_path / "notadb")


def test_wal_mode_is_on(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert sqlite3.connect(tmp_path / "s.db").execute("SELECT value FROM meta").fetchone() == ("1",)


def test_an_ended_job_can_be_removed_which_stops_its_reminders(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        state = JobState(info=_info(), added_at=1.0)
        store.upsert_job(state)
        state.snapshot = _snap("COMPLETED", Phase.FAILED)
        state.done, state.done_reason = True, "terminal"
        store.commit_poll(state, [_event(new="failed")], None, now=2.0)
        assert [a.event.new for a in store.alerting()] == ["failed"]
        assert store.remove_job(state.key) is True
        assert store.job(state.key).done_reason == "removed"  # type: ignore[union-attr]
        assert store.remove_job(state.key) is False


def test_prune_forgets_settled_history_but_never_owed_notices_or_watched_jobs(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        old_done = JobState(info=_info("old-done"), added_at=1.0, last_poll_at=5.0)
        old_owed = JobState(info=_info("old-owed"), added_at=1.0, last_poll_at=5.0)
        watched = JobState(info=_info("watched"), added_at=1.0, last_poll_at=5.0)
        for state in (old_done, old_owed, watched):
            store.upsert_job(state)
        old_done.done = old_owed.done = True
        past = datetime(1970, 1, 1, 0, 0, 10, tzinfo=UTC)

        def event(state: JobState) -> Event:
            return Event(EventKind.PHASE, state.key, "iot", past, "running", "succeeded")

        store.commit_poll(old_done, [event(old_done)], lambda e, j: ["team"], now=10.0)
        store.commit_poll(old_owed, [event(old_owed)], lambda e, j: ["team"], now=10.0)
        store.commit_poll(watched, [event(watched)], None, now=10.0)
        sent = [d.id for d in store.dispatchable(10.0) if d.job.key == old_done.key]
        store.mark_sent(sent, now=11.0)
        assert store.prune(before=100.0) == (2, 1)  # old-done's and watched's events; old-done itself
        assert store.job(old_done.key) is None
        assert store.job(old_owed.key) is not None and store.outbox_depth() == 1
        assert store.job(watched.key) is not None and store.history(watched.key) == []
        assert store.prune(before=100.0) == (0, 0)
