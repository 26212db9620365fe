"""The configuration reference is generated from the settings models, and the committed copy is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from watcher import docgen
from watcher.config import ApiSettings, AwsSettings, ServiceSettings, Settings, WatcherSettings
from watcher.model import SERVICES
from watcher.notify.settings import NotifySettings

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "docs" / "configuration.md"
SCALAR_SECTIONS: dict[str, type[BaseModel]] = {
    "watcher": WatcherSettings,
    "aws": AwsSettings,
    "services.<service>": ServiceSettings,
    "api": ApiSettings,
    "notify": NotifySettings,
}


def test_committed_reference_is_up_to_date() -> None:
    # on failure: python -m watcher.docgen --write docs/configuration.md
    assert docgen.main(["--check", str(REFERENCE)]) == 0


def test_readme_reference_is_up_to_date() -> None:
    # on failure: make docs
    assert docgen.main(["--check", str(REPO / "README.md")]) == 0


def test_check_fails_on_a_stale_reference_and_write_repairs_it(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(REFERENCE.read_text().replace("`JOBWATCH_WATCHER__POLL_INTERVAL`", "`JOBWATCH_OLD`"))
    assert docgen.main(["--check", str(stale)]) == 1
    assert docgen.main(["--write", str(stale)]) == 0
    assert docgen.main(["--check", str(stale)]) == 0
    assert stale.read_text() == REFERENCE.read_text()


def test_a_file_without_markers_is_an_error_not_silently_skipped(tmp_path: Path) -> None:
    bare = tmp_path / "README.md"
    bare.write_text("# no markers here\n")
    assert docgen.main(["--check", str(bare)]) == 2
    with pytest.raises(ValueError, match="markers are missing"):
        docgen.replace_block(bare.read_text(), "x")


def test_every_section_and_key_of_the_model_is_documented() -> None:
    text = docgen.reference()
    for section in Settings.model_fields:
        assert f"### `[{section}" in text or f"### `[[{section}]]" in text, f"section {section} missing"
    for section, model in SCALAR_SECTIONS.items():
        for name, field in model.model_fields.items():
            assert f"| `{field.alias or name}` |" in text, f"{section}.{name} missing"
            env = "JOBWATCH_" + section.replace(".<service>", "__<SERVICE>").upper() + "__" + name.upper()
            assert f"`{env}`" in text, f"{env} missing"


def test_every_scalar_setting_has_a_description() -> None:
    for section, model in SCALAR_SECTIONS.items():
        docs = docgen.attribute_docs(model)
        for name, field in model.model_fields.items():
            assert field.description or docs.get(name), f"{section}.{name} has no description to generate docs from"


def test_types_and_defaults_read_as_an_operator_writes_them() -> None:
    text = docgen.reference()
    assert '| `poll_interval` | duration | `"30s"` |' in text
    assert '| `stuck_after` | duration | `"2h"` |' in text
    assert "| `max_in_flight` | integer (>= 1, <= 1000) | `32` |" in text
    assert '| `log_format` | one of `auto`, `json`, `console` | `"auto"` |' in text
    assert "| `enabled` | boolean | `true` |" in text
    # attribute docstrings (the notify models' style) are picked up like Field descriptions
    assert "A notification not delivered within this time is given up" in text


def test_job_keys_of_every_service_come_from_the_adapters() -> None:
    text = docgen.reference()
    for service in SERVICES:
        assert f"\n| {service} | `" in text
    assert "`farmId`: farm- followed by 32 hex digits" in text
    assert "`describe_job`" in text and "`search_jobs`" in text


def test_relative_links_in_the_operator_docs_point_at_files_that_exist() -> None:
    for doc in sorted((REPO / "docs").glob("*.md")):
        for target in re.findall(r"\]\(([^)#\s]+)\)", doc.read_text()):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"
