"""The Dockerfile: multi-stage, locked install, non-root, state in a volume, health check, exec-form entrypoint.

No Docker daemon runs here, so the file is parsed (tests/ops/dockerparse.py) and its properties checked;
the health check's command is run against a real HTTP server, and the slow tests run the builder stage's
install steps and start the installed daemon with the image's environment.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dockerparse as dp
import imagebuild as ib
import pytest

REPO = Path(__file__).resolve().parents[2]
TEXT = (REPO / "Dockerfile").read_text()
GLOBAL_ARGS, STAGES = dp.stages(TEXT)
BUILDER, FINAL = STAGES[0], STAGES[-1]
FINAL_ENV = dp.stage_env(FINAL, GLOBAL_ARGS)


# -- the parser itself -----------------------------------------------------------------------------


def test_parser_joins_continuations_skips_comments_and_splits_flags() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=python:3.12-slim\n"
        "FROM ${BASE} AS build\n"
        "RUN --mount=type=cache,target=/root/.cache/pip echo a \\\n"
        "# a comment inside the continuation\n"
        "    && echo b\n"
        "FROM $BASE\n"
        'HEALTHCHECK --interval=5s CMD ["python", "-c", "pass"]\n'
        "CMD run --now\n"
    )
    global_args, stages = dp.stages(text)
    assert global_args == {"BASE": "python:3.12-slim"}
    assert [(s.base, s.name) for s in stages] == [("python:3.12-slim", "build"), ("python:3.12-slim", None)]
    run = stages[0].instructions[0]
    assert run.flags == {"mount": "type=cache,target=/root/.cache/pip"}
    assert run.args == "echo a && echo b"
    health = stages[1].last("HEALTHCHECK")
    assert health is not None and health.flags == {"interval": "5s"}
    assert dp.exec_form(health.args.removeprefix("CMD").strip()) == ["python", "-c", "pass"]
    assert stages[1].last("CMD") is not None and stages[1].last("CMD").exec_form is None  # type: ignore[union-attr]


def test_parser_tells_exec_form_from_shell_form() -> None:
    assert dp.exec_form('["jobwatch", "run"]') == ["jobwatch", "run"]
    assert dp.exec_form("jobwatch run") is None
    assert dp.exec_form("[jobwatch, run]") is None  # not JSON: Docker runs it through /bin/sh -c
    assert dp.exec_form('["jobwatch", 1]') is None


def test_parser_rejects_an_unfinished_continuation() -> None:
    with pytest.raises(dp.DockerfileError, match="ends inside"):
        dp.parse("FROM x\nRUN echo \\\n")


def test_dockerignore_matching_follows_last_rule_and_parent_folders() -> None:
    rules = dp.ignore_rules("*\n!watcher\n**/__pycache__\n")
    assert dp.ignored(".venv/bin/python", rules)
    assert not dp.ignored("watcher/config.py", rules)
    assert dp.ignored("watcher/notify/__pycache__/x.pyc", rules)


# -- the Dockerfile's properties -------------------------------------------------------------------


def test_is_multi_stage_on_a_slim_python_base() -> None:
    assert len(STAGES) >= 2
    assert BUILDER.name == "builder"
    for stage in STAGES:
        assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", stage.base), stage.base
    assert FINAL.base == BUILDER.base  # the venv's interpreter path must exist in the runtime stage


def test_builder_installs_from_the_lock_and_the_runtime_only_copies_the_venv() -> None:
    runs = " ".join(i.args for i in BUILDER.all("RUN"))
    assert re.search(r"(--constraint|-c) requirements\.lock", runs)
    copied = " ".join(i.args for i in BUILDER.all("COPY"))
    assert "requirements.lock" in copied and "pyproject.toml" in copied
    from_builder = [i for i in FINAL.all("COPY") if i.flags.get("from") == "builder"]
    assert from_builder, "the runtime stage must take the venv from the builder"
    final_runs = " ".join(i.args for i in FINAL.all("RUN"))
    assert "pip" not in final_runs and "apt-get" not in final_runs  # no installing, no compilers at runtime


def test_runs_as_a_non_root_numeric_user() -> None:
    user = FINAL.last("USER")
    assert user is not None
    uid, _, gid = dp.expand(user.args, FINAL_ENV).partition(":")
    assert uid.isdigit() and int(uid) != 0, "a numeric uid lets Kubernetes' runAsNonRoot check it"
    assert not gid or (gid.isdigit() and int(gid) != 0)
    # USER comes after every RUN, so nothing later runs as root
    assert all(i.line < user.line for i in FINAL.all("RUN"))
    assert f"--uid {uid}" in " ".join(i.args for i in FINAL.all("RUN"))


def test_state_lives_in_a_volume_the_user_owns() -> None:
    volumes = [v for i in FINAL.all("VOLUME") for v in (i.exec_form or i.args.split())]
    assert "/var/lib/jobwatch" in volumes
    assert FINAL_ENV["JOBWATCH_WATCHER__STATE"] == "/var/lib/jobwatch/jobwatch.db"
    runs = " ".join(i.args for i in FINAL.all("RUN"))
    assert re.search(r"install -d -o jobwatch -g jobwatch -m 0700 /var/lib/jobwatch", runs)


def test_config_path_and_listen_address_come_from_the_environment() -> None:
    assert FINAL_ENV["JOBWATCH_CONFIG"] == "/etc/jobwatch/jobwatch.toml"
    assert FINAL_ENV["JOBWATCH_API__LISTEN"] == "0.0.0.0:8787"
    assert "JOBWATCH_API__TOKEN" not in FINAL_ENV, "a token baked into the image would be shared by every container"
    copies = [dp.expand(i.args, FINAL_ENV).split() for i in FINAL.all("COPY") if "from" not in i.flags]
    assert ["config/minimal.toml", "/etc/jobwatch/jobwatch.toml"] in copies
    exposed = " ".join(i.args for i in FINAL.all("EXPOSE")).split()
    assert "8787" in exposed or "8787/tcp" in exposed


def test_entrypoint_is_exec_form_so_sigterm_reaches_the_daemon() -> None:
    entrypoint, cmd, stop = FINAL.last("ENTRYPOINT"), FINAL.last("CMD"), FINAL.last("STOPSIGNAL")
    assert entrypoint is not None and entrypoint.exec_form == ["jobwatch"]
    assert cmd is not None and cmd.exec_form == ["run"]
    assert stop is not None and stop.args == "SIGTERM"


def _healthcheck() -> tuple[dict[str, str], list[str]]:
    health = FINAL.last("HEALTHCHECK")
    assert health is not None
    command = health.args
    assert command.startswith("CMD "), "HEALTHCHECK CMD [...] (not NONE)"
    words = dp.exec_form(command.removeprefix("CMD").strip())
    assert words is not None, "the health check must be exec form: the slim image may lack a shell's tools"
    return health.flags, words


def test_healthcheck_asks_healthz_with_python_not_curl() -> None:
    flags, words = _healthcheck()
    assert words[0] == "python"  # slim images have no curl or wget
    assert "http://127.0.0.1:8787/healthz" in " ".join(words)
    assert {"interval", "timeout", "start-period", "retries"} <= set(flags)


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[ThreadingHTTPServer, type[_Health]]]:
    handler = type("Handler", (_Health,), {"status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()
    thread.join(5)


def _run_healthcheck(port: int) -> int:
    _, words = _healthcheck()
    words = [w.replace("127.0.0.1:8787", f"127.0.0.1:{port}") for w in words]
    words[0] = sys.executable
    return subprocess.run(words, capture_output=True, timeout=30, check=False).returncode


def test_healthcheck_command_passes_on_200_and_fails_otherwise(
    health_server: tuple[ThreadingHTTPServer, type[_Health]],
) -> None:
    server, handler = health_server
    port = server.server_address[1]
    assert _run_healthcheck(port) == 0
    handler.status = 503
    assert _run_healthcheck(port) != 0
    server.shutdown()
    server.server_close()
    assert _run_healthcheck(port) != 0  # nothing listening


def test_every_copied_source_is_in_the_build_context_and_secrets_are_not() -> None:
    rules = dp.ignore_rules((REPO / ".dockerignore").read_text())
    for stage in STAGES:
        for instruction in stage.all("COPY"):
            if "from" in instruction.flags:
                continue
            *sources, _ = dp.expand(instruction.args, dp.stage_env(stage, GLOBAL_ARGS)).split()
            for source in sources:
                path = source.rstrip("/")
                assert (REPO / path).exists(), f"COPY {source}: no such file in the repository"
                assert not dp.ignored(path, rules), f"COPY {source}: .dockerignore leaves it out"
    for private in (".git/config", ".venv/bin/python", "jobwatch.db", ".env", "config/jobwatch.env", "tests/x.py"):
        assert dp.ignored(private, rules), f"{private} would be sent to the Docker daemon"
    assert not dp.ignored("watcher/config.py", rules)


# -- the image's install steps, run for real (slow: a venv and the locked dependencies) -------------


def _image_python() -> str:
    """The interpreter standing in for the base image's: the same minor version when installed, else this one."""
    match = re.search(r"python:(3\.\d+)", FINAL.base)
    assert match
    minor = match.group(1)
    candidates = [
        shutil.which(f"python{minor}"),
        *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{minor}*/bin/python{minor}"))),
    ]
    for candidate in filter(None, candidates):
        done = subprocess.run(
            [candidate, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            return done.stdout.strip()
    return sys.executable


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> ib.ImageRoot:
    """The builder stage run for real under a temporary root (pip's own cache makes reruns quick)."""
    host_env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV", "JOBWATCH"))}
    root = tmp_path_factory.mktemp("image")
    return ib.build(REPO / "Dockerfile", REPO, root, _image_python(), host_env=host_env)


def _locked() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


@pytest.mark.image
@pytest.mark.timeout(600)
def test_image_install_steps_give_the_locked_runtime_and_nothing_else(image: ib.ImageRoot) -> None:
    python = image.path(FINAL_ENV["PREFIX"]) / "bin" / "python"
    version = subprocess.run(
        [*image.entrypoint, "--version"], env=image.env, capture_output=True, text=True, check=False
    )
    assert version.returncode == 0 and version.stdout.startswith("jobwatch "), version.stderr
    frozen = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze", "--exclude-editable"],
        env=image.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = {}
    for line in frozen.splitlines():
        name, _, version_text = line.partition("==")
        installed[re.sub(r"[-_.]+", "-", name).lower()] = version_text
    locked = _locked()
    for name, version_text in installed.items():
        if name in ("pip", "setuptools", "jobwatch"):
            continue
        assert name in locked, f"{name} is installed in the image but not pinned in requirements.lock"
        assert version_text == locked[name], f"{name} {version_text} installed, {locked[name]} locked"
    for dev_only in ("pytest", "mypy", "ruff", "hypothesis", "aiosmtpd", "boto3"):
        assert dev_only not in installed, f"{dev_only} (a test or dev tool) ended up in the image"
    for runtime in ("aiobotocore", "anyio", "apprise", "structlog", "pydantic", "prometheus-client", "jinja2"):
        assert runtime in installed


@pytest.mark.image
@pytest.mark.timeout(600)
def test_image_default_config_refuses_an_open_api_and_accepts_a_token(image: ib.ImageRoot) -> None:
    env = {**image.env, "JOBWATCH_NOTIFY_URL": "json://127.0.0.1:9/jobwatch"}
    check = [*image.entrypoint, "check-config"]  # the config path comes from JOBWATCH_CONFIG
    refused = subprocess.run(check, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2 and "requires a token" in refused.stderr
    env["JOBWATCH_API__TOKEN"] = "image-test-token"
    accepted = subprocess.run([*check, "--print"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert accepted.returncode == 0, accepted.stderr
    assert "image-test-token" not in accepted.stdout and '"0.0.0.0:8787"' in accepted.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.image
@pytest.mark.timeout(600)
def test_container_starts_turns_healthy_and_stops_on_its_stop_signal(image: ib.ImageRoot) -> None:
    port = _free_port()
    env = {
        **image.env,
        "JOBWATCH_NOTIFY_URL": "json://127.0.0.1:9/jobwatch",
        "JOBWATCH_API__TOKEN": "image-test-token",
        # the image listens on 0.0.0.0:8787; the test keeps to loopback and a free port
        "JOBWATCH_API__LISTEN": f"127.0.0.1:{port}",
    }
    _, words = _healthcheck()
    health = [w.replace("127.0.0.1:8787", f"127.0.0.1:{port}") for w in words]
    health[0] = shutil.which(health[0], path=env["PATH"]) or health[0]  # the image's python: the venv's
    process = subprocess.Popen(
        [*image.entrypoint, *image.cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(health, env=env, capture_output=True, timeout=30, check=False).returncode != 0:
            assert process.poll() is None, f"the daemon exited {process.returncode}: {process.stderr.read()[-2000:]}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the health check never passed"
            time.sleep(0.2)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/jobs")
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(request, timeout=10)
        assert denied.value.code == 401  # only /healthz answers without the token
        stop = FINAL.last("STOPSIGNAL")
        assert stop is not None
        process.send_signal(getattr(signal, stop.args))
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, stderr[-2000:]
    assert image.path(FINAL_ENV["JOBWATCH_WATCHER__STATE"]).exists()  # state went to the volume
