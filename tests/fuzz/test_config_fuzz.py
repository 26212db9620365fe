"""Random and hostile configs through ``load_settings`` (and check-config's channel checks).

Whatever the file or the ``JOBWATCH_*`` environment holds, loading either gives Settings or raises
ConfigError whose message names the file, has no traceback or library noise, and never quotes a secret.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watcher.config import Settings, load_settings
from watcher.errors import ConfigError
from watcher.model import SERVICES
from watcher.notify import Notifier

# Planted in every channel URL and API token (and only there): it must never reach a message. A value put in
# the wrong field (a URL as poll_interval) may be quoted back; a secret field's value never is.
SECRET = "Zq7-SECRET-9xK"
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORKDIR = Path(tempfile.mkdtemp(prefix="jobwatch-config-fuzz-"))

# -- writing any value as TOML ------------------------------------------------------------------------


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(doc: dict[str, Any]) -> str:
    """Any dict as TOML: every top-level key as ``"key" = <inline value>`` (valid for any nesting)."""
    return "".join(f"{_string(str(key))} = {_value(value)}\n" for key, value in doc.items())


# -- strategies -----------------------------------------------------------------------------------------

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "5s", "-5s", "0", "1e400", "nan", "10 parsecs", "P1D", "${UNSET_VAR}", "${HOME:-x}",
                     "${", "$${x}", "\x00", "\u202e", "../../etc/passwd", "json://127.0.0.1:9/x",
                     "json://user:pw@127.0.0.1/hook", "mailto://", "x" * 5000]),
)  # fmt: skip
scalars = st.one_of(
    st.none().map(lambda _: ""),  # TOML has no null
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
junk = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


def section(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A table with some of its real keys (right or wrong values) and now and then an unknown one."""
    known = st.fixed_dictionaries({}, optional={k: st.one_of(v, junk) for k, v in fields.items()})
    extra = st.dictionaries(st.text(min_size=1, max_size=12), junk, max_size=1)
    return st.builds(lambda a, b: {**a, **b}, known, st.one_of(st.just({}), extra))


durations = st.one_of(st.sampled_from(["30s", "5m", "1h", "0s", "-1s", "2h30m", "1.5s"]), st.floats(-10, 1e6))
services = st.sampled_from([*SERVICES, "ec2", "", "BRAKET"])
channel = section({"name": st.sampled_from(["hook", "ops", "", "a b", "x" * 80]),
                   "url": st.sampled_from([f"json://user:{SECRET}@127.0.0.1:9/hook", f"slack://{SECRET}/B/C",
                                           f"mailto://me:{SECRET}@example.com", f"bogus://{SECRET}", ""]),
                   "format": st.sampled_from(["text", "markdown", "html", "slack", "pdf"]),
                   "title": st.sampled_from(["{{ job_name }}", "{{ broken", "{% for %}", "{{ x.__class__ }}"]),
                   "body": st.sampled_from(["{{ summary }}", "{{ 1/0 }}", "{% include '/etc/passwd' %}"])})  # fmt: skip
job = section({"service": services, "name": hostile_text, "tags": st.lists(hostile_text, max_size=2),
               "channels": st.lists(st.sampled_from(["hook", "nope"]), max_size=2), "interval": durations,
               "jobArn": st.sampled_from(["arn:aws:braket:us-east-1:123456789012:job/x", "", "not-an-arn"]),
               "jobId": hostile_text, "arn": hostile_text, "farmId": hostile_text})  # fmt: skip
configs = st.fixed_dictionaries(
    {},
    optional={
        "watcher": section({"state": hostile_text, "poll_interval": durations, "max_poll_interval": durations,
                            "stretch": st.floats(-5, 50), "stuck_after": durations,
                            "max_in_flight": st.integers(-5, 5000), "log_level": hostile_text}),
        "aws": section({"region": hostile_text, "profile": hostile_text, "endpoint_url": hostile_text,
                        "max_attempts": st.integers(-1, 20)}),
        "services": st.dictionaries(services, section({"rate_limit": st.floats(-1, 5000), "region": hostile_text,
                                                        "poll_interval": durations}), max_size=2),
        "api": section({"enabled": st.booleans(), "listen": st.sampled_from(["127.0.0.1:8787", "0.0.0.0:80", ":",
                        "[::1]:70000", "host"]), "token": st.sampled_from([SECRET, "", f"${{{SECRET}}}"])}),
        "notify": section({"retry_base": durations, "retry_cap": durations, "max_age": durations,
                           "default_channels": st.lists(st.sampled_from(["hook", "ops", "nope"]), max_size=2),
                           "default_kinds": st.lists(st.sampled_from(["phase", "error", "bogus"]), max_size=2)}),
        "channels": st.lists(channel, max_size=2),
        "routes": st.lists(section({"channels": st.lists(st.sampled_from(["hook", "nope"]), max_size=2),
                                    "when": st.one_of(junk, st.fixed_dictionaries({}, optional={
                                        "kind": st.lists(st.sampled_from(["phase", "x"])),
                                        "status": st.lists(st.sampled_from(["FAILED", "SUCCEEDED", "zz"]))}))}),
                           max_size=2),
        "mutes": st.lists(section({"between": st.sampled_from(["22:00-07:00", "25:00-01:00", "x"]),
                                   "days": st.lists(st.sampled_from(["mon", "funday"])),
                                   "timezone": st.sampled_from(["Europe/Berlin", "Mars/Olympus"])}), max_size=1),
        "jobs": st.lists(job, max_size=3),
        "discover": st.lists(job, max_size=2),
    },
)  # fmt: skip
env_names = st.sampled_from(
    [
        "JOBWATCH_WATCHER__POLL_INTERVAL",
        "JOBWATCH_API__TOKEN",
        "JOBWATCH_API__LISTEN",
        "JOBWATCH_AWS__MAX_ATTEMPTS",
        "JOBWATCH_WATCHER",
        "JOBWATCH_JOBS__0__SERVICE",
        "JOBWATCH_SERVICES__BRAKET__RATE_LIMIT",
        "JOBWATCH___",
        "JOBWATCH_WATCHER__STATE__X",
    ]
)
environments = st.dictionaries(env_names, hostile_text | st.sampled_from(["[1, 2]", "{a = 1}", "true", "5"]),
                               max_size=3)  # fmt: skip


# -- checks ---------------------------------------------------------------------------------------------


def load(text: str, env: dict[str, str]) -> tuple[Settings | None, str | None]:
    path = WORKDIR / "jobwatch.toml"
    path.write_text(text, encoding="utf-8")
    try:
        return load_settings(path, env=env), None
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(str(path)), message
        for noise in ("Traceback", "errors.pydantic.dev", "For further information", " object at 0x", SECRET):
            assert noise not in message, (noise, message)
        assert all(line.startswith(f"{path}: ") for line in message.splitlines()), message
        return None, message


def checked(result: Settings | None) -> None:
    """What check-config does after loading: the channel checks; they report, they do not raise."""
    if result is None:
        return
    notifier = Notifier(result.notify, result.channels, result.routes, result.mutes)
    for problem in notifier.problems():
        assert isinstance(problem, str) and problem
        assert SECRET not in problem, problem


@FUZZ
@given(doc=configs, env=environments)
def test_hostile_configs_load_or_fail_with_a_clean_config_error(doc: dict[str, Any], env: dict[str, str]) -> None:
    checked(load(to_toml(doc), env)[0])


@FUZZ
@given(text=st.text(max_size=300) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_any_text_at_all_is_toml_settings_or_a_clean_config_error(text: str) -> None:
    load(text, {})


@settings(max_examples=60, deadline=None)
@given(doc=configs)
def test_the_environment_alone_gives_settings_or_a_clean_config_error(doc: dict[str, Any]) -> None:
    # JOBWATCH_<SECTION>__<KEY> variables built from a random config: no file at all
    env = {}
    for name, table in doc.items():
        if isinstance(table, dict):
            for key, value in table.items():
                env[f"JOBWATCH_{name.upper()}__{str(key).upper()}"] = _value(value)
    try:
        load_settings(None, env=env)
    except ConfigError as exc:
        assert "Traceback" not in str(exc) and SECRET not in str(exc)
        assert str(exc).startswith("(no config file)"), str(exc)


def test_the_fuzzer_reaches_both_outcomes() -> None:
    # the strategies are not all-invalid: a plain config loads, a broken one fails cleanly
    arn = "arn:aws:braket:us-east-1:123456789012:job/x"
    good, _ = load(to_toml({"jobs": [{"service": "braket", "jobArn": arn}]}), {})
    assert good is not None and len(good.jobs) == 1
    bad, message = load(to_toml({"watcher": {"poll_interval": "-5s", "bogus": 1}}), {})
    assert bad is None and message is not None and "watcher.bogus" in message
