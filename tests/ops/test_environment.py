"""Configuration from the environment (12-factor): every setting by ``JOBWATCH_<SECTION>__<KEY>``, the AWS SDK's
own variables left to the SDK, and ``jobwatch check-config --print`` showing the result with secrets masked.

The list of settings is generated from the model, so a new setting is covered (or this test says how to cover it).
"""

from __future__ import annotations

import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from watcher.clients import ClientKey, ClientPool
from watcher.config import ENV_PREFIX, Settings, load_settings
from watcher.durations import parse_duration
from watcher.errors import ConfigError
from watcher.model import SERVICES
from watcher.services import adapter_for

# a file with one channel, so list settings that name channels have one to name
BASE = '[[channels]]\nname = "ops"\nurl = "json://127.0.0.1:9/hook"\n'
# values a generic string would not pass
SPECIAL: dict[str, tuple[str, Any]] = {"listen": ("127.0.0.2:9999", "127.0.0.2:9999")}


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """The field's type without Optional and Annotated, and all the metadata on the way."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            metadata = [*metadata, *extra]
        elif origin in (typing.Union, types.UnionType):
            (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        else:
            return annotation, metadata


def _bound(metadata: list[Any], name: str) -> Any:
    return next((getattr(m, name) for m in metadata if hasattr(m, name)), None)


def override_for(name: str, field: FieldInfo) -> tuple[str, Any]:
    """An environment value for the field that differs from its default, and the value it must load as."""
    if name in SPECIAL:
        return SPECIAL[name]
    default = field.get_default(call_default_factory=True)
    annotation, metadata = _unwrap(field.annotation, list(field.metadata))
    if any(getattr(m, "func", None) is parse_duration for m in metadata):
        seconds = (default or 0) + 7  # above every default, so no "max below min" rule trips
        return f"{int(seconds // 60)}m{int(seconds % 60)}s", float(seconds)
    if annotation is bool:
        return ("false", False) if default else ("true", True)
    if annotation is int:
        value = (default or 0) + 1
        upper = _bound(metadata, "le")
        assert upper is None or value <= upper
        return str(value), value
    if annotation is float:
        value = (default or 0) + 0.5
        return str(value), value
    if typing.get_origin(annotation) is typing.Literal:
        choice = next(c for c in typing.get_args(annotation) if c != default)
        return choice, choice
    if annotation is str:
        return f"env-{name}", f"env-{name}"
    if typing.get_origin(annotation) is list:
        value = ["ops"] if "channel" in name else ["stuck"]
        return '["' + value[0] + '"]', value
    raise AssertionError(f"no override generator for {name}: {field.annotation}; add one to this test")


def settings_cases() -> list[tuple[str, tuple[str, ...], str, Any]]:
    """(variable, attribute path, value text, expected) for every scalar and list setting of every table."""
    cases = []
    tables: list[tuple[tuple[str, ...], type[BaseModel]]] = []
    for section, field in Settings.model_fields.items():
        annotation, _ = _unwrap(field.annotation, [])
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            tables.append(((section,), annotation))
        elif typing.get_origin(annotation) is dict:  # services.<name>
            model = typing.get_args(annotation)[1]
            tables += [((section, service), model) for service in SERVICES]
    for path, model in tables:
        for name, field in model.model_fields.items():
            text, expected = override_for(name, field)
            variable = ENV_PREFIX + "__".join(part.upper() for part in (*path, name))
            cases.append((variable, (*path, name), text, expected))
    return cases


CASES = settings_cases()


def _get(settings: Settings, path: tuple[str, ...]) -> Any:
    if path[0] == "services":  # a service without a table of its own has the defaults
        return getattr(settings.service(path[1]), path[2])
    value: Any = settings
    for part in path:
        value = getattr(value, part)
    return value


def test_the_generated_list_covers_every_table() -> None:
    variables = {case[0] for case in CASES}
    assert "JOBWATCH_WATCHER__POLL_INTERVAL" in variables
    assert "JOBWATCH_SERVICES__DEVICEFARM__RATE_LIMIT" in variables
    assert "JOBWATCH_API__TOKEN" in variables and "JOBWATCH_NOTIFY__DEFAULT_KINDS" in variables
    assert len(CASES) >= 30


@pytest.mark.parametrize(("variable", "path", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_every_setting_can_be_set_from_the_environment(
    tmp_path: Path, variable: str, path: tuple[str, ...], text: str, expected: Any
) -> None:
    config = tmp_path / "jobwatch.toml"
    config.write_text(BASE)
    assert _get(load_settings(config, env={}), path) != expected, "the override must differ from the default"
    assert _get(load_settings(config, env={variable: text}), path) == expected


def test_environment_beats_the_file(tmp_path: Path) -> None:
    config = tmp_path / "jobwatch.toml"
    config.write_text(BASE + '[watcher]\npoll_interval = "10s"\n[services.iot]\nrate_limit = 2\n')
    settings = load_settings(
        config, env={"JOBWATCH_WATCHER__POLL_INTERVAL": "20s", "JOBWATCH_SERVICES__IOT__RATE_LIMIT": "3"}
    )
    assert settings.watcher.poll_interval == 20 and settings.service("iot").rate_limit == 3


def test_a_misspelt_key_is_an_error_naming_it_and_non_setting_variables_are_ignored(tmp_path: Path) -> None:
    config = tmp_path / "jobwatch.toml"
    config.write_text(BASE)
    with pytest.raises(ConfigError, match=r"watcher\.poll_intervall: unknown key"):
        load_settings(config, env={"JOBWATCH_WATCHER__POLL_INTERVALL": "10s"})
    # single-underscore names are not settings: the config path and ${VAR} secrets live there
    plain = load_settings(config, env={"JOBWATCH_CONFIG": "/x.toml", "JOBWATCH_NOTIFY_URL": "json://x"})
    assert plain == load_settings(config, env={})


def test_aws_sdk_variables_are_not_read_into_the_settings(tmp_path: Path) -> None:
    config = tmp_path / "jobwatch.toml"
    config.write_text(BASE)
    sdk_env = {
        "AWS_REGION": "eu-west-3",
        "AWS_PROFILE": "ops",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_ENDPOINT_URL_BRAKET": "http://127.0.0.1:2",
        "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/jobwatch",
        "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/token",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
    }
    assert load_settings(config, env=sdk_env) == load_settings(config, env={})


def _sdk_endpoint_variable(service: str) -> str:
    """botocore's name for a service's endpoint variable: AWS_ENDPOINT_URL_ + its service id (DEVICE_FARM...)."""
    service_id = botocore.session.get_session().get_service_model(service).service_id
    return "AWS_ENDPOINT_URL_" + str(service_id).upper().replace(" ", "_")


@pytest.mark.anyio
async def test_sdk_reads_region_and_per_service_endpoints_from_its_own_variables(
    aws_env: None, sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for service in SERVICES:
        monkeypatch.setenv(_sdk_endpoint_variable(service), sim.url)
    jobs = {service: sim.control.add_job(service)["params"] for service in SERVICES}
    # jobwatch passes no region and no endpoint: everything comes from the SDK's variables
    async with ClientPool(region=None, profile=None, endpoint_url=None) as pool:
        for service, params in jobs.items():
            adapter = adapter_for(service)
            client = await pool.client(ClientKey(service, None, None, None))
            assert client.meta.region_name == "eu-west-1"
            answer = await getattr(client, adapter.operation)(**adapter.request(params))
            assert adapter.read(answer).status
    counts = sim.control.stats()
    assert str(counts).count("Job") >= len(SERVICES), counts


@pytest.mark.anyio
async def test_sdk_reads_the_profile_named_by_aws_profile(
    aws_env: None, sim: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "config").write_text(f"[profile jobwatch]\nregion = ap-southeast-2\nendpoint_url = {sim.url}\n")
    (tmp_path / "credentials").write_text("[jobwatch]\naws_access_key_id = a\naws_secret_access_key = b\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "jobwatch")
    params = sim.control.add_job("iot")["params"]
    async with ClientPool(region=None, profile=None, endpoint_url=None) as pool:
        client = await pool.client(ClientKey("iot", None, None, None))
        assert client.meta.region_name == "ap-southeast-2"
        answer = await client.describe_job(**adapter_for("iot").request(params))
        assert answer["job"]["jobId"] == params["jobId"]


SECRETS = {
    "SLACK_TOKENS": "T0SECRET1/B0SECRET2/SECRETSECRETSECRET3",
    "SMTP_PASSWORD": "hunter2-smtp-secret",
    "HOOK_PASSWORD": "basic-auth-secret",
    "DISCORD_TOKEN": "discordsecrettokendiscordsecrettokendiscordsecrettoken0123",
    "JOBWATCH_API__TOKEN": "api-bearer-secret",
}
SECRET_CONFIG = """
[api]
listen = "0.0.0.0:8787"

[[channels]]
name = "slack"
url = "slack://${SLACK_TOKENS}/#ops"

[[channels]]
name = "mail"
url = "mailtos://jobwatch:${SMTP_PASSWORD}@smtp.example.com:587?to=ops@example.com"

[[channels]]
name = "hook"
url = "jsons://jobwatch:${HOOK_PASSWORD}@hooks.example.com/jobwatch"

[[channels]]
name = "discord"
url = "discord://123456789012345678/${DISCORD_TOKEN}"

[notify]
default_channels = ["slack", "mail", "hook", "discord"]
"""


def test_check_config_print_shows_the_effective_config_with_every_secret_masked(tmp_path: Path) -> None:
    config = tmp_path / "jobwatch.toml"
    config.write_text(SECRET_CONFIG)
    env = {**SECRETS, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "JOBWATCH_WATCHER__POLL_INTERVAL": "45s"}
    done = subprocess.run(
        [sys.executable, "-m", "watcher.cli", "check-config", "--print", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    for name, secret in SECRETS.items():
        for part in secret.split("/"):
            assert part not in output, f"{name} leaks into check-config --print"
    assert '"poll_interval": "45s"' in done.stdout  # the environment's value, so this is the effective config
    assert '"listen": "0.0.0.0:8787"' in done.stdout
    for scheme in ("slack", "mailtos", "jsons", "discord"):
        assert f'"{scheme}://' in done.stdout  # the kind of channel stays visible
