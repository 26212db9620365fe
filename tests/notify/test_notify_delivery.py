"""Delivery through real receivers on 127.0.0.1: JSON, form, Mattermost (Slack-compatible), SMTP; outages,
expiry, a lost commit, wake-ups, hanging channels, test-notify."""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import anyio
import pytest
from apprise.conversion.format import markdown_to_html
from notify.builders import add, commit, event, job, phase, snap
from notify.receivers import HttpReceiver, SmtpServer
from support import until
from test_notify_render import HOSTILE, read_html, visible

from watcher.model import EventKind, Phase
from watcher.notify import ChannelConfig, MuteConfig, Notifier, NotifySettings, RouteConfig
from watcher.store import Store

pytestmark = pytest.mark.anyio

QUICK = {"retry_base": 0.05, "retry_cap": 0.2, "send_timeout": 5}


def make(
    channels: dict[str, str | dict[str, Any]],
    routes: list[dict[str, Any]] | None = None,
    mutes: list[dict[str, Any]] | None = None,
    **notify: Any,
) -> Notifier:
    """A notifier whose default route sends to every channel (unless ``routes`` are given)."""
    configs = [
        ChannelConfig.model_validate({"name": name, **({"url": spec} if isinstance(spec, str) else spec)})
        for name, spec in channels.items()
    ]
    settings = NotifySettings.model_validate({**QUICK, "default_channels": [] if routes else list(channels), **notify})
    n = Notifier(
        settings,
        configs,
        [RouteConfig.model_validate(r) for r in routes or []],
        [MuteConfig.model_validate(m) for m in mutes or []],
        hostname="watch-1",
    )
    assert n.problems() == []
    return n


def titles(requests: list[dict[str, Any]]) -> list[str]:
    return [r["json"]["title"] for r in requests]


async def test_every_channel_kind_delivers_hostile_names_as_literal_text(
    tmp_path: Path, http_receiver: HttpReceiver, smtp_server: SmtpServer
) -> None:
    n = make(
        {
            "json": http_receiver.url("json", "/json"),
            "form": http_receiver.url("form", "/form"),
            "chat": http_receiver.url("mmost", "hooktoken1"),
            "slackish": {"url": http_receiver.url("json", "/mrkdwn"), "format": "slack"},
            "mail": smtp_server.url(),
        }
    )
    info = job(HOSTILE)
    with Store.open(tmp_path / "s.db") as store:
        state = add(store, info)
        failure = "<script>alert(2)</script> *oops*"
        assert (
            commit(store, n, state, [phase(info, "running", "failed")], snap(Phase.FAILED, "FAILED", failure=failure))
            == 5
        )
        assert await n.drain(store, timeout=10) == 0
        by_path = {r["path"]: r for r in http_receiver.delivered()}
        assert by_path["/json"]["json"]["title"] == f"❌ {HOSTILE}: running → failed"
        assert HOSTILE in by_path["/json"]["json"]["message"] and failure in by_path["/json"]["json"]["message"]
        assert by_path["/json"]["json"]["type"] == "failure"
        assert by_path["/form"]["form"]["title"] == f"❌ {HOSTILE}: running → failed"
        chat = by_path["/hooks/hooktoken1"]["json"]["text"]  # Mattermost's Slack-compatible payload
        assert HOSTILE in visible("markdown", chat) and failure in visible("markdown", chat)
        assert "img" not in read_html(markdown_to_html(chat)).tags and "@channel" not in chat
        mrkdwn = by_path["/mrkdwn"]["json"]["message"]  # sent as rendered: apprise did not rewrite it
        assert mrkdwn.startswith("❌ *&lt;img src=x onerror=alert(1)&gt; ")
        assert HOSTILE in visible("slack", mrkdwn)
        await smtp_server.wait_for(1)
        mail = smtp_server.messages[0]
        assert mail["Subject"] == f"❌ {HOSTILE}: running → failed"
        html = mail.get_body(("html",))
        assert html is not None
        reader = read_html(html.get_content())
        assert "img" not in reader.tags and "script" not in reader.tags
        assert HOSTILE in "".join(reader.text) and failure in "".join(reader.text)
        [entry] = store.history(info.key)
        assert sorted((d["channel"], d["state"]) for d in entry.deliveries) == [
            ("chat", "sent"),
            ("form", "sent"),
            ("json", "sent"),
            ("mail", "sent"),
            ("slackish", "sent"),
        ]


async def test_an_outage_delays_but_never_loses_or_duplicates_and_keeps_order_per_job(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    n = make({"down": http_receiver.url("json", "/down"), "up": http_receiver.url("json", "/up")})
    http_receiver.set_status(503, path="/down")
    jobs = [job(f"job-{i}") for i in range(3)]
    expected: dict[str, list[str]] = defaultdict(list)
    with Store.open(tmp_path / "s.db") as store:
        states = [add(store, info) for info in jobs]
        async with anyio.create_task_group() as tg:
            tg.start_soon(n.run, store)
            for step in range(1, 4):  # interleaved: job-0 S1, job-1 S1, job-2 S1, job-0 S2, ...
                for info, state in zip(jobs, states, strict=True):
                    ev = event(EventKind.STATUS, info, f"S{step - 1}", f"S{step}", phase="running")
                    commit(store, n, state, [ev], snap(Phase.RUNNING, f"S{step}"))
                    n.wake()
                    expected[info.display_name].append(f"ℹ️ {info.display_name}: status S{step - 1} → S{step}")  # noqa: RUF001
            await http_receiver.wait_for(9, ok_only=True, path="/up")  # the healthy channel is not held back
            await until(lambda: len(http_receiver.requests) - 9 >= 6, within=5.0, what="retries on the failing channel")
            assert not http_receiver.delivered("/down")
            http_receiver.set_status(200, path="/down")
            await http_receiver.wait_for(9, within=10, ok_only=True, path="/down")
            await until(lambda: store.outbox_depth() == 0, within=5.0, what="an empty outbox")
            tg.cancel_scope.cancel()
        for path in ("/up", "/down"):
            got = titles(http_receiver.delivered(path))
            assert Counter(got) == Counter(t for ts in expected.values() for t in ts), path  # each exactly once
            for name, order in expected.items():
                assert [t for t in got if t.startswith(f"ℹ️ {name}:")] == order, (path, name)  # noqa: RUF001
        assert n.stats[("down", "sent")] == 9 and n.stats[("down", "failed")] >= 3 and n.stats[("up", "failed")] == 0
        attempts = [d["attempts"] for e in store.history() for d in e.deliveries if d["channel"] == "down"]
        assert max(attempts) >= 2


async def test_a_row_past_max_age_is_given_up_with_the_last_error(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    outcomes: list[tuple[str, str, int]] = []
    n = make({"hook": http_receiver.url("json")}, max_age=0.4)
    n.dispatcher.on_result = lambda channel, outcome, rows, latency: outcomes.append((channel, outcome, rows))
    http_receiver.set_status(503)
    info = job("doomed")
    with Store.open(tmp_path / "s.db") as store:
        commit(store, n, add(store, info), [phase(info, "running", "failed")])
        async with anyio.create_task_group() as tg:
            tg.start_soon(n.run, store)
            await until(lambda: store.outbox_depth() == 0, within=5.0, what="the row to expire")
            tg.cancel_scope.cancel()
        [delivery] = store.history(info.key)[0].deliveries
        assert delivery["state"] == "expired" and "503" in delivery["last_error"]
        assert n.stats[("hook", "expired")] == 1 and ("hook", "expired", 1) in outcomes
        assert not http_receiver.delivered()


async def test_a_send_whose_commit_was_lost_is_repeated_at_most_once(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    path = tmp_path / "s.db"
    info = job("killed")
    store = Store.open(path)
    n = make({"hook": http_receiver.url("json")})
    state = add(store, info)
    for step in (1, 2):
        commit(store, n, state, [event(EventKind.STATUS, info, f"S{step - 1}", f"S{step}")])
    assert await n.drain(store, timeout=5) == 0
    # the daemon dies while the third notification is in flight: the receiver got it, the commit never came
    http_receiver.set_delay(1.0)
    commit(store, n, state, [event(EventKind.STATUS, info, "S2", "S3")])
    async with anyio.create_task_group() as tg:
        tg.start_soon(n.run, store)
        await http_receiver.wait_for(3)
        tg.cancel_scope.cancel()
    store.close()
    http_receiver.set_delay(0)
    with Store.open(path) as store:
        revived = make({"hook": http_receiver.url("json")})
        assert store.outbox_depth() == 1
        assert await revived.drain(store, timeout=5) == 0
        assert await revived.drain(store, timeout=5) == 0
    await until(lambda: len(http_receiver.delivered()) == 4, within=5.0, what="the abandoned first send to finish")
    counts = Counter(re.sub(r"^\S+ ", "", t) for t in titles(http_receiver.requests))
    assert counts == {"killed: status S0 → S1": 1, "killed: status S1 → S2": 1, "killed: status S2 → S3": 2}


async def test_wake_sends_at_once_instead_of_at_the_next_planned_wakeup(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    n = make({"hook": http_receiver.url("json")})
    info = job("prompt")
    with Store.open(tmp_path / "s.db") as store:
        state = add(store, info)
        async with anyio.create_task_group() as tg:
            tg.start_soon(n.run, store)
            await anyio.sleep(0.1)  # let the dispatcher settle into its idle wait (60 s)
            commit(store, n, state, [phase(info, "queued", "running")])
            n.wake()
            await http_receiver.wait_for(1, within=3, ok_only=True)
            await until(lambda: store.outbox_depth() == 0, within=5.0, what="the row marked sent")
            tg.cancel_scope.cancel()


async def test_a_hanging_channel_does_not_hold_back_another(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    n = make({"slow": http_receiver.url("json", "/slow"), "fast": http_receiver.url("json", "/fast")}, send_timeout=60)
    first, second = job("first"), job("second")
    http_receiver.set_delay(60, path="/slow")  # /slow never answers while the test runs
    with Store.open(tmp_path / "s.db") as store:
        commit(store, n, add(store, first), [phase(first, "running", "succeeded")])
        async with anyio.create_task_group() as tg:
            tg.start_soon(n.run, store)
            await http_receiver.wait_for(1, path="/slow")
            commit(store, n, add(store, second), [phase(second, "running", "failed")])
            n.wake()

            def states() -> dict[tuple[str, str], str]:
                return {(e.job.display_name, d["channel"]): d["state"] for e in store.history() for d in e.deliveries}

            await until(
                lambda: states()[("second", "fast")] == "sent", within=5.0, what="the fast channel's second notice"
            )
            assert states() == {
                ("first", "slow"): "pending",
                ("first", "fast"): "sent",
                ("second", "slow"): "pending",
                ("second", "fast"): "sent",
            }
            assert len(http_receiver.requests) == 3  # /slow still holds the first; the second waits behind it
            tg.cancel_scope.cancel()


async def test_a_channel_no_longer_configured_gets_its_rows_expired(
    tmp_path: Path, http_receiver: HttpReceiver
) -> None:
    old = make({"gone": http_receiver.url("json"), "kept": http_receiver.url("json", "/kept")})
    info = job("orphan")
    with Store.open(tmp_path / "s.db") as store:
        commit(store, old, add(store, info), [phase(info, "running", "failed")])
        new = make({"kept": http_receiver.url("json", "/kept")})
        assert await new.drain(store, timeout=5) == 0
        states = {d["channel"]: (d["state"], d["last_error"]) for d in store.history(info.key)[0].deliveries}
        assert states == {"gone": ("expired", "channel 'gone' is not configured"), "kept": ("sent", None)}


async def test_a_muted_event_stays_in_history_without_deliveries(tmp_path: Path, http_receiver: HttpReceiver) -> None:
    n = make({"hook": http_receiver.url("json")}, mutes=[{"job": ["quiet-*"], "comment": "noisy test jobs"}])
    quiet, loud = job("quiet-1"), job("loud-1")
    with Store.open(tmp_path / "s.db") as store:
        assert commit(store, n, add(store, quiet), [phase(quiet, "running", "failed")]) == 0
        assert commit(store, n, add(store, loud), [phase(loud, "running", "failed")]) == 1
        assert await n.drain(store, timeout=5) == 0
        [muted] = store.history(quiet.key)
        assert muted.event.new == "failed" and muted.deliveries == []
        assert [r["json"]["title"] for r in http_receiver.delivered()] == ["❌ loud-1: running → failed"]


async def test_send_test_reports_per_channel(http_receiver: HttpReceiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    http_receiver.set_status(500, path="/broken")
    configs = [
        ChannelConfig(name="ok", url=http_receiver.url("json", "/ok")),
        ChannelConfig(name="broken", url=http_receiver.url("json", "/broken").replace("//", "//admin:hunter2pass@", 1)),
        ChannelConfig(name="nowhere", url="json://nobody:hunter3pass@127.0.0.1:9/"),
        ChannelConfig(name="typo", url="slak://T1JJ3T3L2/whatever"),
    ]
    n = Notifier(NotifySettings(**QUICK), configs, [], [], hostname="watch-1")
    results = await n.send_test()
    assert results["ok"] is None
    assert results["broken"] is not None and "500" in results["broken"]
    assert results["nowhere"] is not None
    assert results["typo"] == "the channel's configuration is invalid (see check-config)"
    assert await n.send_test("missing") == {"missing": "no such channel"}
    [sample] = http_receiver.delivered("/ok")
    assert sample["json"]["title"] == "❌ jobwatch test notification: running → failed"
    everything = caplog.text + repr(results)
    assert "hunter2pass" not in everything and "hunter3pass" not in everything
    assert any(r.name == "apprise" for r in caplog.records)  # apprise did log, masked
