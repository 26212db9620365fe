"""Channel settings and `check-config` problems: every message names its field, none shows a secret."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from watcher.notify import ChannelConfig, MuteConfig, Notifier, NotifySettings, RouteConfig


def notifier(
    channels: list[dict[str, Any]],
    routes: list[dict[str, Any]] | None = None,
    mutes: list[dict[str, Any]] | None = None,
    **notify: Any,
) -> Notifier:
    return Notifier(
        NotifySettings.model_validate(notify),
        [ChannelConfig.model_validate(c) for c in channels],
        [RouteConfig.model_validate(r) for r in routes or []],
        [MuteConfig.model_validate(m) for m in mutes or []],
        hostname="test-host",
    )


def test_env_variables_expand_in_urls_and_a_missing_one_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_TOKEN", "s3cr3t-token-value")
    channel = ChannelConfig.model_validate({"name": "team", "url": "json://127.0.0.1:9/${HOOK_TOKEN}/x"})
    assert channel.url == "json://127.0.0.1:9/s3cr3t-token-value/x"
    assert "s3cr3t" not in repr(channel)
    monkeypatch.delenv("HOOK_TOKEN")
    with pytest.raises(ValidationError) as caught:
        ChannelConfig.model_validate({"name": "team", "url": "json://127.0.0.1:9/${HOOK_TOKEN}"})
    assert "environment variable HOOK_TOKEN is not set" in str(caught.value)


@pytest.mark.parametrize(
    ("channel", "problem"),
    [
        ({"name": "team"}, "exactly one of url"),
        ({"name": "team", "url": "json://h/", "config": "a.yml"}, "exactly one of url"),
        ({"name": "team", "url": "json://h/", "format": "rtf"}, "format"),
        ({"name": "team", "url": "json://h/", "colour": "red"}, "colour"),
        ({"name": "bad name!", "url": "json://h/"}, "channel name"),
        ({"name": "team", "url": "json://h/", "max_length": 10}, "max_length"),
    ],
)
def test_bad_channel_entries_are_rejected(channel: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ChannelConfig.model_validate(channel)
    assert problem in str(caught.value)


def test_notify_settings_reject_unknown_keys_and_bad_retry_values() -> None:
    with pytest.raises(ValidationError, match="retry_cap"):
        NotifySettings.model_validate({"retry_base": "10s", "retry_cap": "1s"})
    with pytest.raises(ValidationError, match="max_agee"):
        NotifySettings.model_validate({"max_agee": "1h"})
    assert NotifySettings.model_validate({"max_age": "2h", "group_window": "30s"}).max_age == 7200


def test_problems_name_the_field_and_list_the_known_channels() -> None:
    n = notifier(
        [{"name": "team", "url": "json://127.0.0.1:9/hook"}, {"name": "oncall", "url": "form://127.0.0.1:9/"}],
        routes=[
            {"channels": ["tema"]},
            {"channels": ["team"], "when": {"service": "amplify", "status": ["SUCCEEDED"]}},
        ],
        mutes=[{"channels": ["pager"]}],
        default_channels=["nobody"],
    )
    assert n.problems() == [
        "routes[0].channels: unknown channel 'tema'; known: team, oncall",
        "routes[1].when.status: unknown status 'SUCCEEDED' (phases such as 'failed' go in when.phase);"
        " known: CANCELLED, CANCELLING, CREATED, FAILED, PENDING, PROVISIONING, RUNNING, SUCCEED",
        "notify.default_channels: unknown channel 'nobody'; known: team, oncall",
        "mutes[0].channels: unknown channel 'pager'; known: team, oncall",
    ]


def test_a_phase_written_as_a_status_gets_a_hint() -> None:
    n = notifier(
        [{"name": "team", "url": "json://127.0.0.1:9/"}],
        routes=[{"channels": ["team"], "when": {"status": ["failed"]}}],
    )
    assert n.problems() == []  # FAILED is a raw status of several services
    n = notifier(
        [{"name": "team", "url": "json://127.0.0.1:9/"}],
        routes=[{"channels": ["team"], "when": {"status": ["succeeded"], "service": "braket"}}],
    )
    assert "phases such as 'failed' go in when.phase" in n.problems()[0]


def test_unusable_urls_are_reported_by_channel_and_scheme_without_their_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    n = notifier(
        [
            {"name": "team", "url": "json://127.0.0.1:9/hook"},
            {"name": "chat", "url": "slak://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"},
            {"name": "bot", "url": "tgram://topsecretbottoken"},
            {"name": "plain", "url": "just-a-word"},
            {"name": "team", "url": "json://127.0.0.1:9/again"},
        ]
    )
    problems = n.problems()
    assert problems == [
        "channels[1].url: apprise does not recognise this URL (scheme 'slak')",
        "channels[2].url: apprise cannot use this 'tgram' URL; check its host, tokens and parameters",
        "channels[3].url: this is not an apprise URL (expected scheme://...)",
        "channels[4].name: another channel is already called 'team'",
    ]
    logged = caplog.text + "\n".join(problems)
    for secret in ("TIiajkdnlazkcOXrIdevi7", "topsecretbottoken"):
        assert secret not in logged


def test_apprise_config_files_are_loaded_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "apprise.yml"
    good.write_text("urls:\n  - json://127.0.0.1:9/a\n  - form://127.0.0.1:9/b\n")
    empty = tmp_path / "empty.yml"
    empty.write_text("urls: []\n")
    n = notifier(
        [
            {"name": "team", "config": str(good)},
            {"name": "none", "config": str(empty)},
            {"name": "gone", "config": str(tmp_path / "missing.yml")},
        ]
    )
    assert n.problems() == [
        f"channels[1].config: apprise found no usable URL in {empty}",
        f"channels[2].config: no such file: {tmp_path / 'missing.yml'}",
    ]
    assert n.channels["team"].style.format == "text"


def test_template_errors_are_found_before_anything_is_sent() -> None:
    n = notifier(
        [
            {"name": "a", "url": "json://127.0.0.1:9/", "title": "{{ job_name }", "body": "{{ job_nmae }} {{ phase }}"},
            {"name": "b", "url": "json://127.0.0.1:9/", "body": "{% for e in recent_events %}{{ e.type }}{% endfor %}"},
        ]
    )
    problems = n.problems()
    assert len(problems) == 2
    assert problems[0].startswith("channels[0].title: template syntax error on line 1:")
    assert problems[1].startswith("channels[0].body: unknown template field 'job_nmae'; known: ")


@pytest.mark.parametrize(
    ("url", "fmt", "title_fmt"),
    [
        ("json://127.0.0.1:9/", "text", "text"),
        ("form://127.0.0.1:9/", "text", "text"),
        ("mailto://127.0.0.1:25?from=a@example.com&to=b@example.com", "html", "text"),
        ("mmost://127.0.0.1:9/token", "markdown", "markdown"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7", "slack", "slack"),
    ],
)
def test_each_channel_gets_a_format_from_its_url(url: str, fmt: str, title_fmt: str) -> None:
    n = notifier([{"name": "c", "url": url}])
    assert n.problems() == []
    style = n.channels["c"].style
    assert (style.format, style.title_format) == (fmt, title_fmt)


def test_an_explicit_format_wins() -> None:
    n = notifier([{"name": "c", "url": "json://127.0.0.1:9/", "format": "markdown", "max_length": 900}])
    assert (n.channels["c"].style.format, n.channels["c"].style.max_length) == ("markdown", 900)
