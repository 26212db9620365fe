"""The README's examples stay true: every TOML block loads, and the quick start's commands exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from watcher.cli import _parser
from watcher.config import load_settings
from watcher.notify import Notifier

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.S)
ENV = {"SLACK_WEBHOOK_URL": "slack://T1234/B5678/abcdefghijklmnop", "SMTP_USER": "u", "SMTP_PASSWORD": "p"}


@pytest.mark.parametrize("block", BLOCKS, ids=[f"toml-{i}" for i in range(len(BLOCKS))])
def test_every_toml_example_is_a_valid_config(block: str, tmp_path: Path) -> None:
    path = tmp_path / "example.toml"
    path.write_text(block)
    settings = load_settings(path, env=ENV)
    assert Notifier.from_settings(settings).problems() == []


def test_the_quick_start_is_two_make_targets_that_exist() -> None:
    text = README.read_text()
    quick = text[text.index("## Quick start") : text.index("## What it does")]
    commands = re.findall(r"^(make \w+)", quick, flags=re.M)
    assert commands == ["make demo", "make test"]
    makefile = (README.parent / "Makefile").read_text()
    for command in commands:
        assert re.search(rf"^{command.split()[1]}:", makefile, flags=re.M)
    assert "$(BIN)/jobwatch demo" in makefile and "-m pytest" in makefile
    assert "make test" in (README.parent / ".ci" / "run").read_text()


def test_every_command_in_the_commands_table_exists() -> None:
    text = README.read_text()
    table = text[text.index("## Commands") : text.index("## Configuration")]
    named = set(re.findall(r"`jobwatch ([a-z-]+)", table))
    known = set(_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert named == known, named ^ known
