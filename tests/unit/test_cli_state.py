"""The CLI on the state file when no daemon runs: add, list, ack, remove, history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watcher.cli import main
from watcher.model import Event, EventKind, JobInfo, JobRef, Phase, Snapshot, utcnow
from watcher.store import JobState, Store

ARN = "arn:aws:braket:us-east-1:123456789012:job/nightly"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "jobwatch.toml"
    # A port nothing listens on: the commands fall back to the state file.
    path.write_text(f'[watcher]\nstate = "{tmp_path / "s.db"}"\n[api]\nlisten = "127.0.0.1:9"\n')
    return path


def test_add_list_ack_and_remove_work_on_the_state_file(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add", "-c", str(config), "braket", f"jobArn={ARN}", "--name", "nightly VQE", "--tag", "q"]) == 0
    assert "added braket:" in capsys.readouterr().out
    assert main(["list", "-c", str(config), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["key"] == f"braket:{ARN}" and row["name"] == "nightly VQE" and row["tags"] == ["q"]

    with Store.open(config.parent / "s.db") as store:  # the job fails while nobody watches the CLI
        state = store.job(row["key"])
        assert state is not None
        state.snapshot = Snapshot(phase=Phase.FAILED, status="FAILED", terminal=True)
        state.done, state.done_reason = True, "terminal"
        event = Event(EventKind.PHASE, state.key, "braket", utcnow(), "running", "failed", "failed")
        store.commit_poll(state, [event], None, now=1.0)
        assert len(store.alerting()) == 1

    assert main(["ack", "-c", str(config), row["key"], "--comment", "on it"]) == 0
    with Store.open(config.parent / "s.db") as store:
        assert store.alerting() == []
        assert store.acknowledged(row["key"])[2] == "on it"  # type: ignore[index]
    assert main(["remove", "-c", str(config), row["key"]]) == 0
    assert main(["remove", "-c", str(config), row["key"]]) == 1
    assert "no watched job" in capsys.readouterr().err
    assert main(["history", "-c", str(config), row["key"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["new"] == "failed"


def test_bad_identity_is_a_usage_error_naming_the_field(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add", "-c", str(config), "braket", "jobArm=x"]) == 2
    assert "jobArn" in capsys.readouterr().err
    assert main(["ack", "-c", str(config), "braket:nothing"]) == 1


def test_info_round_trips_through_the_store(config: Path) -> None:
    info = JobInfo(JobRef("braket", {"jobArn": ARN}), name="n", tags=("a",))
    with Store.open(config.parent / "s.db") as store:
        store.upsert_job(JobState(info=info, added_at=1.0))
        assert store.job(info.key).info == info  # type: ignore[union-attr]
