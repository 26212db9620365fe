"""Credentials that expire and are refreshed while `jobwatch run` polls.

The daemon gets no keys in its environment: its AWS config file names a ``credential_process`` that hands
out a new access key id each time it runs, with an ``Expiration``. botocore refreshes such credentials 15
minutes before they expire, so the process sets the expiration 15 minutes and 2.5 seconds ahead: every key
falls due for refresh 2.5 s after it was issued (an hour-long session compressed into seconds). The
simulator records which key signed each request; the drill checks that polling went on across every
refresh and that no key was used after it fell due.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from reliability.drills import add_jobs, daemon_config, read_state, state_progress

from watcher.store import JobState, Store

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("aws_env")]

LIFETIME = 2.5  # seconds from a key's issue to its refresh point
GRACE = 1.0  # requests signed just before a refresh may still be on their way

CREDENTIAL_PROCESS = """
import datetime, fcntl, json, sys, time
log, lifetime = sys.argv[1], float(sys.argv[2])
with open(log, "a+") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    handle.seek(0)
    number = sum(1 for _ in handle)
    key, now = f"ASIADRILL{number:08d}", time.time()
    handle.write(f"{key} {now}\\n")
expires = datetime.datetime.fromtimestamp(now + 15 * 60 + lifetime, datetime.UTC)
print(json.dumps({"Version": 1, "AccessKeyId": key, "SecretAccessKey": "drill" * 8,
                  "SessionToken": f"token-{number}", "Expiration": expires.isoformat()}))
"""


async def test_polling_goes_on_across_credential_refreshes_and_never_uses_a_key_past_its_time(
    sim: Any, make_daemon: Any, tmp_path: Path
) -> None:
    script, issued_log = tmp_path / "creds.py", tmp_path / "issued.log"
    script.write_text(CREDENTIAL_PROCESS)
    aws_config = tmp_path / "aws-config"
    aws_config.write_text(f"[default]\ncredential_process = {sys.executable} {script} {issued_log} {LIFETIME}\n")
    (tmp_path / "aws-credentials").write_text("")
    env = {
        "AWS_CONFIG_FILE": str(aws_config),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_SESSION_TOKEN": None,
    }
    jobs = add_jobs(sim.control, 10, random.Random(11), running=(0.5, 1.0), ends=(8.0, 11.0), prefix="creds")
    state = tmp_path / "state.db"
    with Store.open(state) as store:
        now = time.time()
        for job in jobs:
            store.upsert_job(JobState(info=job.info, source="cli", added_at=now, next_poll_at=now))
    daemon = make_daemon(daemon_config(sim.url, state), env)
    daemon.start()
    with anyio.fail_after(60):
        while state_progress(state)[0] != 0:
            assert daemon.running(), daemon.log_text()[-3000:]
            await anyio.sleep(0.1)
    assert daemon.terminate() == 0

    issued = [(key, float(at)) for key, at in (line.split() for line in issued_log.read_text().splitlines())]
    used = sim.control.stats()["access_keys"]
    print(f"\ncredentials: {len(issued)} keys issued, {len(used)} used: " + ", ".join(
        f"{key[-3:]} {info['requests']} calls" for key, info in used.items()))  # fmt: skip
    assert len(used) >= 3, f"too few refreshes to prove anything: {used}"
    issued_at = dict(issued)
    assert set(used) <= set(issued_at), "a request was signed with a key the process never issued"
    for index, (key, at) in enumerate(issued):
        if key not in used:
            continue
        first, last = used[key]["first"], used[key]["last"]
        assert first >= at - 0.05, (key, "used before it was issued")
        assert last <= at + LIFETIME + GRACE, (key, f"still used {last - at - LIFETIME:.2f}s after it fell due")
        if index + 1 < len(issued):
            assert last <= issued[index + 1][1] + GRACE, (key, "still used after the next key was issued")
    # polling went on: every job was seen to its end, with no failed call and no error event
    kinds = [kind for (kind,) in read_state(state, "SELECT kind FROM events")]
    assert "error" not in kinds and "vanished" not in kinds
    ends = dict(read_state(state, "SELECT key, phase FROM jobs"))
    assert ends == {job.info.key: job.end for job in jobs}
    stats = sim.control.stats()["totals"]
    assert stats["errors"] == 0 and stats["client_errors"] == 0
    assert "poll.failed" not in daemon.log_text()
